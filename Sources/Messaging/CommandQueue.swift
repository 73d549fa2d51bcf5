import Foundation

/// Work for the I/O thread: `run` executes there; `abandon` runs instead (on the submitting
/// thread or the I/O thread) when the node has shut down, so no continuation is left waiting.
struct IOCommand: Sendable {
    let run: @Sendable (IOLoop) -> Void
    let abandon: @Sendable () -> Void
}

/// The mailbox between any thread and the I/O thread: a locked list of commands plus a wake-up
/// message on an inproc PAIR socket that the I/O thread polls beside its other sockets.
final class CommandQueue: @unchecked Sendable {
    // @unchecked: `pending`, `wakePending`, `closed` and the `wakeSender` socket are only touched
    // under `lock`; libzmq allows a socket to move between threads with a full memory barrier
    // between uses, which the lock gives.
    private let lock = NSLock()
    private var pending: [IOCommand] = []
    private var wakePending = false
    private var closed = false
    private let wakeSender: ZMQSocket

    init(wakeSender: ZMQSocket) { self.wakeSender = wakeSender }

    /// Queues `command` and wakes the I/O thread; abandons it at once after shutdown.
    func submit(_ command: IOCommand) {
        lock.lock()
        if closed {
            lock.unlock()
            command.abandon()
            return
        }
        pending.append(command)
        if !wakePending {
            wakePending = true
            // At most one wake message is ever queued, far below the PAIR's high-water mark; the
            // only failure left is ETERM, which cannot happen before `close()` below. If it did,
            // the I/O thread still drains `pending` after its next poll timeout.
            _ = try? wakeSender.send(frames: [FrameBytes()], dontWait: true)
        }
        lock.unlock()
    }

    /// The queued commands, taken by the I/O thread after its wake socket became readable.
    func take() -> [IOCommand] {
        lock.lock()
        defer { lock.unlock() }
        wakePending = false
        let taken = pending
        pending = []
        return taken
    }

    /// Refuses further commands and returns the ones still queued (to abandon).
    func close() -> [IOCommand] {
        lock.lock()
        defer { lock.unlock() }
        closed = true
        wakeSender.close()
        let left = pending
        pending = []
        return left
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }
}

/// What every facade and every received request shares with its node: the settings and the way to
/// reach the I/O thread. Holding it does not keep the node's thread alive.
final class NodeCore: Sendable {
    let configuration: MessagingNode.Configuration
    let queue: CommandQueue
    let totals = Locked(MessagingStatistics())
    /// Called on the I/O thread for a refused peer (`MessagingNode.init(_:onRefusedPeer:)`).
    let reportRefusal: (@Sendable (PeerRefusal) -> Void)?
    private let nextEndpointID = Locked(0)

    init(configuration: MessagingNode.Configuration, queue: CommandQueue, reportRefusal: (@Sendable (PeerRefusal) -> Void)? = nil) {
        self.configuration = configuration
        self.queue = queue
        self.reportRefusal = reportRefusal
    }

    func makeEndpointID() -> Int { nextEndpointID.withLock { $0 += 1; return $0 } }

    /// Runs `body` on the I/O thread and returns its result; throws `.closed` after shutdown.
    func call<T: Sendable>(_ body: @escaping @Sendable (IOLoop) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            queue.submit(IOCommand(
                run: { loop in c.resume(with: Result { try body(loop) }) },
                abandon: { c.resume(throwing: MessagingError(.closed, "the messaging node has shut down")) }))
        }
    }

    /// Runs `body` on the I/O thread later; dropped after shutdown.
    func post(_ body: @escaping @Sendable (IOLoop) -> Void) {
        queue.submit(IOCommand(run: body, abandon: {}))
    }

    /// Stamps the node's run id and sender on a message about to be sent.
    func stamp(_ message: Message, sequence: UInt64) -> Message {
        var m = message
        m.envelope.runID = configuration.runID
        m.envelope.sender = configuration.sender
        m.envelope.sequence = sequence
        return m
    }
}
