/// The broadcasting side of PUB/SUB (weight updates to every generator): a PUB socket bound to
/// an endpoint. Publishing never blocks; a subscriber whose queue is full misses the message
/// (libzmq drops it), so the layer above versions what it publishes.
public final class Publisher: Sendable {
    /// The endpoint bound, with the port the system chose for `tcp://host:*`.
    public let endpoint: String
    let id: Int
    let core: NodeCore
    private let counter: StatisticsCounter
    private let sequences = Locked<UInt64>(0)
    private let node: MessagingNode

    init(node: MessagingNode, id: Int, endpoint: String, counter: StatisticsCounter) {
        self.node = node
        self.core = node.core
        self.id = id
        self.endpoint = endpoint
        self.counter = counter
    }

    deinit {
        let id = id
        core.post { $0.remove(id, reason: MessagingError(.closed, "the publisher was released")) }
    }

    public var statistics: MessagingStatistics { counter.snapshot }

    /// Sends `message` to every subscriber whose filter matches its kind. Returns once queued.
    public func publish(_ message: Message) async throws {
        let sequence = sequences.withLock { $0 += 1; return $0 }
        var stamped = core.stamp(message, sequence: sequence)
        stamped.envelope.oneWay = true
        let frames = try MessageCodec.encode(stamped)
        let (id, counter) = (id, counter)
        try await core.call { loop in
            guard let e = loop.endpoint(id, as: PublisherEndpoint.self) else { throw MessagingError(.closed, "the publisher is closed") }
            // PUB never blocks: at the high-water mark libzmq drops the message for that subscriber.
            try e.socket.send(frames: frames, dontWait: true)
            counter.add(\.sent)
        }
    }

    public func close() async {
        let id = id
        _ = try? await core.call { $0.remove(id, reason: MessagingError(.closed, "the publisher was closed")) }
    }
}

/// The receiving side of PUB/SUB: a SUB socket connected to a `Publisher`, filtered by kind.
public final class Subscriber: Sendable {
    public let endpoint: String
    /// Decoded messages in arrival order; refused ones are counted and dropped.
    public let messages: AsyncStream<Message>
    let id: Int
    let core: NodeCore
    private let counter: StatisticsCounter
    private let node: MessagingNode

    init(node: MessagingNode, id: Int, endpoint: String, messages: AsyncStream<Message>, counter: StatisticsCounter) {
        self.node = node
        self.core = node.core
        self.id = id
        self.endpoint = endpoint
        self.messages = messages
        self.counter = counter
    }

    deinit {
        let id = id
        core.post { $0.remove(id, reason: MessagingError(.closed, "the subscriber was released")) }
    }

    public var statistics: MessagingStatistics { counter.snapshot }

    public func close() async {
        let id = id
        _ = try? await core.call { $0.remove(id, reason: MessagingError(.closed, "the subscriber was closed")) }
    }

    /// The subscription prefix for `kind`: bytes 0-6 of the envelope (magic, version, kind).
    static func prefix(for kind: MessageKind?) -> [UInt8] {
        var p = Envelope.magic
        guard let kind else { return p }  // everything of this format
        p += [UInt8(Envelope.currentVersion & 0xFF), UInt8(Envelope.currentVersion >> 8), kind.rawValue]
        return p
    }
}

extension MessagingNode {
    /// Binds a publisher.
    public func publisher(bind endpoint: String) async throws -> Publisher {
        let id = core.makeEndpointID()
        let counter = StatisticsCounter(node: core.totals)
        let bound = try await core.call { loop -> String in
            let socket = try loop.makeSocket(.pub)
            let (bound, companions) = try loop.bindServer(socket, id: id, at: endpoint, counter: counter)
            loop.add(id, PublisherEndpoint(socket: socket, counter: counter, companionIDs: companions))
            return bound
        }
        return Publisher(node: self, id: id, endpoint: bound, counter: counter)
    }

    /// Connects a subscriber receiving the messages of `kinds` (empty: every kind). As with any
    /// SUB socket, messages published before the subscription reached the publisher are missed.
    public func subscriber(connect endpoint: String, kinds: [MessageKind] = []) async throws -> Subscriber {
        let id = core.makeEndpointID()
        let counter = StatisticsCounter(node: core.totals)
        let (stream, continuation) = AsyncStream.makeStream(of: Message.self)
        let core = core
        try await core.call { loop in
            let socket = try loop.makeSocket(.sub)
            for prefix in kinds.isEmpty ? [Subscriber.prefix(for: nil)] : kinds.map({ Subscriber.prefix(for: $0) }) {
                try socket.subscribe(prefix)
            }
            try loop.connectClient(socket, to: endpoint)
            loop.add(id, SubscriberEndpoint(socket: socket, core: core, counter: counter, continuation: continuation))
        }
        return Subscriber(node: self, id: id, endpoint: endpoint, messages: stream, counter: counter)
    }
}

/// The I/O-thread side of a `Publisher` (a PUB socket is never readable).
final class PublisherEndpoint: IOEndpoint {
    let socket: ZMQSocket
    let counter: StatisticsCounter
    let companionIDs: [Int]
    init(socket: ZMQSocket, counter: StatisticsCounter, companionIDs: [Int]) {
        self.socket = socket
        self.counter = counter
        self.companionIDs = companionIDs
    }
    func readable(_ loop: IOLoop) throws {}
    func nextDeadline() -> UInt64? { nil }
    func fire(_ loop: IOLoop, now: UInt64) {}
    func close(reason: MessagingError) { socket.close() }
}

/// The I/O-thread side of a `Subscriber`.
final class SubscriberEndpoint: IOEndpoint {
    let socket: ZMQSocket
    let core: NodeCore
    let counter: StatisticsCounter
    private let continuation: AsyncStream<Message>.Continuation

    init(socket: ZMQSocket, core: NodeCore, counter: StatisticsCounter, continuation: AsyncStream<Message>.Continuation) {
        self.socket = socket
        self.core = core
        self.counter = counter
        self.continuation = continuation
    }

    func readable(_ loop: IOLoop) throws {
        for _ in 0..<IOLoop.readsPerTurn {
            guard let frames = try socket.receiveFrames(dontWait: true) else { return }
            do {
                let m = try MessageCodec.decode(frames[...], limits: core.configuration.limits, runID: core.configuration.runID)
                counter.add(\.received)
                continuation.yield(m)
            } catch let error as MessagingError {
                counter.addRefusal(error)
            }
        }
    }

    func nextDeadline() -> UInt64? { nil }
    func fire(_ loop: IOLoop, now: UInt64) {}

    func close(reason: MessagingError) {
        socket.close()
        continuation.finish()
    }
}
