import CZeroMQ
import Foundation

/// A ZeroMQ context. One per `MessagingNode`; sockets made from it reach each other over
/// `inproc://`. Terminating waits for every socket of the context to be closed.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked: libzmq documents contexts as thread-safe; `handle` never changes after init and
    // `terminated` is only read and written under `lock`.
    let handle: UnsafeMutableRawPointer
    private let lock = NSLock()
    private var terminated = false

    /// Makes a context; throws when libzmq cannot (out of file descriptors, for instance).
    public init() throws {
        guard let h = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        handle = h
    }

    /// Closes the context. Every socket made from it must be closed first or this blocks until
    /// they are (linger 0 on every socket keeps that short). Idempotent.
    public func terminate() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !terminated else { return }
        while zmq_ctx_term(handle) != 0 {
            // EINTR: a signal interrupted the wait; anything else is a real failure.
            if zmq_errno() != EINTR { throw ZMQError.last("zmq_ctx_term") }
        }
        terminated = true
    }

    deinit { try? terminate() }
}
