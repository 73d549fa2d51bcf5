import CZeroMQ
import Foundation

/// A socket the I/O thread polls, with what to do when it is readable and when its timers fire.
/// Endpoints live on the I/O thread only; commands reach them through `IOLoop.endpoint(_:as:)`.
protocol IOEndpoint: AnyObject {
    var socket: ZMQSocket { get }
    var counter: StatisticsCounter { get }
    /// Reads what is waiting (never blocks: receives use ZMQ_DONTWAIT).
    func readable(_ loop: IOLoop) throws
    /// The earliest monotonic time at which `fire` has work, if any.
    func nextDeadline() -> UInt64?
    /// Expires what is due at `now` (request timeouts, heartbeats).
    func fire(_ loop: IOLoop, now: UInt64)
    /// Closes the socket, finishes streams and fails waiting requests with `reason`.
    func close(reason: MessagingError)
    /// Endpoints that live and die with this one (a CURVE server's handshake monitor).
    var companionIDs: [Int] { get }
}

extension IOEndpoint {
    var companionIDs: [Int] { [] }
}

/// The state of a node's I/O thread: its sockets and the loop that polls them. Confined to that
/// thread (created before it starts and handed over by `pthread_create`, a full barrier).
final class IOLoop {
    let core: NodeCore
    let context: ZMQContext
    private let wakeReceiver: ZMQSocket
    private var endpoints: [Int: IOEndpoint] = [:]
    private var order: [Int] = []
    private var stopping = false

    /// At most this many messages are read from one socket per turn, so one busy peer cannot
    /// starve the others or the command queue.
    static let readsPerTurn = 64

    init(core: NodeCore, context: ZMQContext, wakeReceiver: ZMQSocket) {
        self.core = core
        self.context = context
        self.wakeReceiver = wakeReceiver
    }

    // MARK: - Endpoints (called by commands, on the I/O thread)

    /// A socket of this node's context with the node's limits and high-water marks applied.
    func makeSocket(_ kind: ZMQSocket.Kind) throws -> ZMQSocket {
        let socket = try ZMQSocket(context, kind)
        let c = core.configuration
        try socket.setHighWaterMarks(send: c.highWaterMark, receive: c.highWaterMark)
        try socket.setMaxMessageSize(bytes: Int64(c.limits.maxMessageBytes))
        return socket
    }

    func add(_ id: Int, _ endpoint: IOEndpoint) {
        endpoints[id] = endpoint
        order.append(id)
    }

    func endpoint<E: IOEndpoint>(_ id: Int, as _: E.Type) -> E? { endpoints[id] as? E }

    /// The counters of the endpoint with `id`, whatever its kind.
    func counter(of id: Int) -> StatisticsCounter? { endpoints[id]?.counter }

    func remove(_ id: Int, reason: MessagingError) {
        guard let e = endpoints.removeValue(forKey: id) else { return }
        order.removeAll { $0 == id }
        e.close(reason: reason)
        for companion in e.companionIDs { remove(companion, reason: reason) }
    }

    func stop() { stopping = true }

    // MARK: - The loop

    /// Polls until a shutdown command, then closes every socket, ends every stream, fails every
    /// waiting request and terminates the context.
    func run() {
        while !stopping {
            let ids = order
            var items = [zmq_pollitem_t(socket: wakeReceiver.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)]
            for id in ids {
                items.append(zmq_pollitem_t(socket: endpoints[id]!.socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0))
            }
            let rc = zmq_poll(&items, Int32(items.count), pollTimeoutMilliseconds())
            if rc < 0 && zmq_errno() != EINTR {
                // Only a closed socket or a terminated context make zmq_poll fail; neither can
                // happen while the loop runs. Count it and keep going rather than spin silently.
                core.totals.withLock { $0.socketErrors += 1 }
            }
            if rc > 0 {
                if items[0].revents & Int16(ZMQ_POLLIN) != 0 { runCommands() }
                for (i, id) in ids.enumerated() where items[i + 1].revents & Int16(ZMQ_POLLIN) != 0 {
                    // A command above may have closed it.
                    guard let e = endpoints[id], !stopping else { continue }
                    do { try e.readable(self) } catch { e.counter.add(\.socketErrors) }
                }
            }
            let now = monotonicNanoseconds()
            for id in order {
                if let e = endpoints[id], let d = e.nextDeadline(), d <= now { e.fire(self, now: now) }
            }
        }
        finish()
    }

    private func runCommands() {
        // Drain the wake messages first: a submit after `take()` sends a new one, so none is lost.
        while (try? wakeReceiver.receiveFrames(dontWait: true)) ?? nil != nil {}
        for command in core.queue.take() { command.run(self) }
    }

    private func pollTimeoutMilliseconds() -> Int {
        let now = monotonicNanoseconds()
        var earliest: UInt64?
        for e in endpoints.values {
            if let d = e.nextDeadline() { earliest = min(earliest ?? d, d) }
        }
        guard let earliest else { return -1 }
        if earliest <= now { return 0 }
        return Int(min((earliest - now + 999_999) / 1_000_000, 60_000))
    }

    private func finish() {
        let closed = MessagingError(.closed, "the messaging node has shut down")
        for id in order { remove(id, reason: closed) }
        for command in core.queue.close() { command.abandon() }
        wakeReceiver.close()
        do { try context.terminate() } catch { core.totals.withLock { $0.socketErrors += 1 } }
    }
}
