import CZeroMQ
import Foundation

/// An error from libzmq: the call that failed (with its argument when it names a place, such as
/// an endpoint or an option), errno as zmq reported it, and zmq's own text for it.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The C call and its telling argument, e.g. `zmq_bind(tcp://127.0.0.1:5555)`.
    public let call: String
    /// `zmq_errno()` right after the failing call.
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: zmq_strerror(errno))) (errno \(errno))" }

    /// The error of the call that just failed on this thread.
    static func last(_ call: String) -> ZMQError { ZMQError(call: call, errno: zmq_errno()) }

    /// Throws the last error when a libzmq call returned a negative code.
    @discardableResult
    static func check(_ rc: Int32, _ call: @autoclosure () -> String) throws -> Int32 {
        if rc < 0 { throw ZMQError.last(call()) }
        return rc
    }
}
