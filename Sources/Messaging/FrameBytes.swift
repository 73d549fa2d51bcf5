import CZeroMQ
import Foundation

/// The immutable bytes of one message frame, held without copying: either a buffer this process
/// allocated (handed to libzmq on send with `zmq_msg_init_data`, so zmq sends from it directly and
/// releases it when done) or the `zmq_msg_t` a receive filled (read in place, closed on deinit).
///
/// Over `inproc://` both ends share one buffer: a tensor is never copied between two roles of one
/// process. Over `ipc://`/`tcp://` the kernel copy is the only one on each side.
public final class FrameBytes: @unchecked Sendable {
    // @unchecked: the bytes are written only inside `init` (before the object is shared) and never
    // after; `storage` is a `let`. Reading immutable memory from several threads is safe, and zmq's
    // message content refcount is atomic, so `deinit` (closing the message or freeing the buffer) on
    // whichever thread drops the last reference is safe too.
    private enum Storage {
        case owned(UnsafeMutableRawPointer?)
        case received(UnsafeMutablePointer<zmq_msg_t>)
    }

    private let storage: Storage
    /// The start of the bytes (nil when empty).
    let baseAddress: UnsafeRawPointer?
    /// The number of bytes.
    public let count: Int

    /// An empty frame.
    public convenience init() { self.init(count: 0) { _ in } }

    /// Allocates `count` bytes and lets `fill` write them (once, before anyone can read them).
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        precondition(count >= 0, "FrameBytes: negative byte count \(count)")  // our own callers' sizes
        let p = count > 0 ? UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64) : nil
        do {
            try fill(UnsafeMutableRawBufferPointer(start: p, count: count))
        } catch {
            p?.deallocate()
            throw error
        }
        storage = .owned(p)
        baseAddress = UnsafeRawPointer(p)
        self.count = count
    }

    /// A copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { dst in if !bytes.isEmpty { dst.copyMemory(from: bytes) } }
    }

    /// A copy of `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count) { dst in bytes.withUnsafeBytes { if !$0.isEmpty { dst.copyMemory(from: $0) } } }
    }

    /// Takes over a received message (the caller must not close it).
    init(takingReceived msg: UnsafeMutablePointer<zmq_msg_t>) {
        storage = .received(msg)
        count = zmq_msg_size(msg)
        baseAddress = count > 0 ? UnsafeRawPointer(zmq_msg_data(msg)) : nil
    }

    deinit {
        switch storage {
        case .owned(let p): p?.deallocate()
        case .received(let msg):
            zmq_msg_close(msg)
            msg.deallocate()
        }
    }

    /// Reads the bytes in place.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: baseAddress, count: count))
    }

    /// A copy of the bytes as an array.
    public var array: [UInt8] { withUnsafeBytes { [UInt8]($0) } }
}
