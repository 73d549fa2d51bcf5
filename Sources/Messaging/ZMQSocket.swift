import CZeroMQ
import Foundation

/// An error from libzmq, with the call that failed and zmq's own message.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32
    public var description: String { "\(call): \(String(cString: zmq_strerror(errno)))" }
    static func last(_ call: String) -> ZMQError { ZMQError(call: call, errno: zmq_errno()) }
}

/// A ZeroMQ context. One per process; sockets made from it can use `inproc://` between them.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked: zmq contexts are documented thread-safe; the pointer never changes.
    let handle: UnsafeMutableRawPointer

    public init() {
        handle = zmq_ctx_new()
    }

    deinit { zmq_ctx_term(handle) }
}

/// A ZeroMQ socket. Not thread-safe (as libzmq's sockets are not): one thread owns each socket.
public final class ZMQSocket {
    public enum Kind: Int32, Sendable {
        case pair = 0, pub = 1, sub = 2, req = 3, rep = 4, dealer = 5, router = 6, pull = 7, push = 8
    }

    private var handle: UnsafeMutableRawPointer?
    public let context: ZMQContext

    public init(_ context: ZMQContext, _ kind: Kind) throws {
        self.context = context
        guard let h = zmq_socket(context.handle, kind.rawValue) else { throw ZMQError.last("zmq_socket") }
        handle = h
        // Closing must not hang the process on undelivered messages.
        var linger: Int32 = 0
        zmq_setsockopt(h, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
    }

    deinit { close() }

    public func close() {
        if let h = handle { zmq_close(h) }
        handle = nil
    }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_connect \(endpoint)") }
    }

    /// The endpoint actually bound (useful after binding `tcp://127.0.0.1:*`).
    public var lastEndpoint: String {
        var buf = [CChar](repeating: 0, count: 256)
        var len = buf.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buf, &len)
        return String(nulTerminated: buf)
    }

    /// Milliseconds a receive waits before failing with EAGAIN; -1 waits forever.
    public func setReceiveTimeout(milliseconds: Int32) {
        var v = milliseconds
        zmq_setsockopt(handle, ZMQ_RCVTIMEO, &v, MemoryLayout<Int32>.size)
    }

    /// Sends a multipart message; each frame's bytes are copied once into zmq.
    public func send(_ frames: [[UInt8]]) throws {
        for (i, frame) in frames.enumerated() {
            let flags: Int32 = i < frames.count - 1 ? Int32(ZMQ_SNDMORE) : 0
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            guard rc >= 0 else { throw ZMQError.last("zmq_send") }
        }
    }

    /// Receives one multipart message; nil when the receive timeout passed.
    public func receive() throws -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        while true {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            let rc = zmq_msg_recv(&msg, handle, 0)
            if rc < 0 {
                if zmq_errno() == EAGAIN && frames.isEmpty { return nil }
                throw ZMQError.last("zmq_msg_recv")
            }
            let size = zmq_msg_size(&msg)
            let data = zmq_msg_data(&msg)!
            frames.append([UInt8](UnsafeRawBufferPointer(start: data, count: size)))
            if zmq_msg_more(&msg) == 0 { return frames }
        }
    }
}

extension String {
    /// The text of a C buffer up to its first NUL (all of it when there is none).
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
