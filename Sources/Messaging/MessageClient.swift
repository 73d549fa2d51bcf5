import Foundation

/// The asking side of request/reply: a DEALER socket connected to a `MessageServer`. Replies are
/// matched to requests by sequence number, so several requests may be in flight at once, and every
/// request has a timeout: a lost reply (server dead, message dropped) never wedges the caller.
public final class MessageClient: Sendable {
    /// The endpoint connected to.
    public let endpoint: String
    let id: Int
    let core: NodeCore
    private let counter: StatisticsCounter
    private let sequences: Locked<UInt64>
    private let node: MessagingNode

    init(node: MessagingNode, id: Int, endpoint: String, counter: StatisticsCounter, sequences: Locked<UInt64>) {
        self.node = node
        self.core = node.core
        self.id = id
        self.endpoint = endpoint
        self.counter = counter
        self.sequences = sequences
    }

    deinit {
        let id = id
        core.post { $0.remove(id, reason: MessagingError(.closed, "the client was released")) }
    }

    /// This client's counters.
    public var statistics: MessagingStatistics { counter.snapshot }

    func nextSequence() -> UInt64 { sequences.withLock { $0 += 1; return $0 } }

    /// Sends `message` and waits for the reply with its sequence number.
    /// - Parameters:
    ///   - message: any kind; run id, sender and sequence are stamped here.
    ///   - timeout: how long to wait for the reply before throwing `.timeout`.
    /// - Returns: the reply. An `.error` reply throws `MessagingError(.remote(code), text)`.
    /// - Throws: `.timeout`, `.queueFull` (nothing was sent), `.closed`, `.remote`, or a
    ///   `CancellationError` when the task is cancelled while waiting.
    public func request(_ message: Message, timeout: Duration) async throws -> Message {
        try Task.checkCancellation()
        let sequence = nextSequence()
        var stamped = core.stamp(message, sequence: sequence)
        stamped.envelope.oneWay = false
        let frames = try MessageCodec.encode(stamped)
        let deadline = monotonicNanoseconds() &+ timeout.nanoseconds
        let (id, core) = (id, core)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Message, Error>) in
                core.queue.submit(IOCommand(
                    run: { loop in
                        guard let e = loop.endpoint(id, as: ClientEndpoint.self) else {
                            return c.resume(throwing: MessagingError(.closed, "the client is closed"))
                        }
                        e.start(sequence: sequence, frames: frames, deadline: deadline, continuation: c)
                    },
                    abandon: { c.resume(throwing: MessagingError(.closed, "the messaging node has shut down")) }))
            }
        } onCancel: {
            core.post { $0.endpoint(id, as: ClientEndpoint.self)?.cancel(sequence: sequence) }
        }
    }

    /// Sends `message` without expecting a reply (flagged one-way; the server cannot answer it).
    /// Returns once the I/O thread queued it in libzmq. Throws `.queueFull` or `.closed`.
    public func send(_ message: Message) async throws {
        var stamped = core.stamp(message, sequence: nextSequence())
        stamped.envelope.oneWay = true
        let frames = try MessageCodec.encode(stamped)
        let id = id
        try await core.call { loop in
            guard let e = loop.endpoint(id, as: ClientEndpoint.self) else { throw MessagingError(.closed, "the client is closed") }
            try e.sendNow(frames)
        }
    }

    /// Pings the server (answered by its I/O thread, not its handler) and returns the round trip.
    public func ping(timeout: Duration) async throws -> Duration {
        let start = ContinuousClock.now
        _ = try await request(Message(kind: .ping), timeout: timeout)
        return ContinuousClock.now - start
    }

    /// Pings the server and returns the sender id its I/O thread stamps on the pong: which
    /// process answers (role processes stamp an id of their own), so a caller can tell that the
    /// server was restarted.
    public func instance(timeout: Duration) async throws -> UInt64 {
        try await request(Message(kind: .ping), timeout: timeout).envelope.sender
    }

    /// Pings the server every `interval` and reports when it has been silent (no message of any
    /// kind from it) for longer than `silenceLimit`, and when it speaks again. The peer is named
    /// by this client's endpoint. Calling again replaces the previous stream (which finishes).
    public func heartbeats(interval: Duration, silenceLimit: Duration) async throws -> AsyncStream<HeartbeatEvent<String>> {
        let (stream, continuation) = AsyncStream.makeStream(of: HeartbeatEvent<String>.self)
        let id = id
        let interval = max(interval.nanoseconds, 1_000_000)
        let limit = silenceLimit.nanoseconds
        try await core.call { loop in
            guard let e = loop.endpoint(id, as: ClientEndpoint.self) else { throw MessagingError(.closed, "the client is closed") }
            e.startHeartbeats(interval: interval, silenceLimit: limit, continuation: continuation)
        }
        return stream
    }

    /// Closes the socket; waiting requests fail with `.closed`.
    public func close() async {
        let id = id
        _ = try? await core.call { $0.remove(id, reason: MessagingError(.closed, "the client was closed")) }
    }
}

extension MessagingNode {
    /// Connects a request/reply client. Connecting succeeds before the server exists (libzmq
    /// retries); requests sent meanwhile wait in the queue until their timeout.
    public func client(connect endpoint: String) async throws -> MessageClient {
        let id = core.makeEndpointID()
        let counter = StatisticsCounter(node: core.totals)
        let sequences = Locked<UInt64>(0)
        let core = core
        try await core.call { loop in
            let socket = try loop.makeSocket(.dealer)
            try loop.connectClient(socket, to: endpoint)
            loop.add(id, ClientEndpoint(socket: socket, core: core, endpoint: endpoint, counter: counter, sequences: sequences))
        }
        return MessageClient(node: self, id: id, endpoint: endpoint, counter: counter, sequences: sequences)
    }
}
