import CZeroMQ
import Foundation

/// `zmq_poll` over several sockets: which of them can be read now.
public enum ZMQPoller {
    /// Waits up to `timeoutMilliseconds` (-1: forever) until one of `sockets` has a message to
    /// read; returns the readiness of each, in order. An interrupted wait (EINTR) returns all false.
    public static func pollReadable(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) throws -> [Bool] {
        var items = try sockets.map { socket -> zmq_pollitem_t in
            guard let h = socket.handle else { throw ZMQError(call: "zmq_poll", errno: ENOTSOCK) }
            return zmq_pollitem_t(socket: h, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        }
        let rc = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
        if rc < 0 {
            if zmq_errno() == EINTR { return Array(repeating: false, count: items.count) }
            throw ZMQError.last("zmq_poll(\(items.count) sockets)")
        }
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
