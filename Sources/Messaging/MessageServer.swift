import Foundation

/// The serving side of request/reply: a ROUTER socket bound to an endpoint. Each request arrives
/// on `requests` with a way to answer it; pings are answered by the I/O thread itself; refused
/// traffic is answered with an error reply and counted in `statistics`.
///
/// Keep the server alive while you read `requests`: releasing it closes the socket and ends the
/// stream.
public final class MessageServer: Sendable {
    /// The endpoint bound, with the port the system chose for `tcp://host:*`.
    public let endpoint: String
    /// Requests in arrival order; finishes when the server or its node closes.
    public let requests: AsyncStream<IncomingRequest>
    let id: Int
    let core: NodeCore
    private let counter: StatisticsCounter
    private let node: MessagingNode

    init(node: MessagingNode, id: Int, endpoint: String, requests: AsyncStream<IncomingRequest>, counter: StatisticsCounter) {
        self.node = node
        self.core = node.core
        self.id = id
        self.endpoint = endpoint
        self.requests = requests
        self.counter = counter
    }

    deinit {
        let id = id
        core.post { $0.remove(id, reason: MessagingError(.closed, "the server was released")) }
    }

    /// This server's counters.
    public var statistics: MessagingStatistics { counter.snapshot }

    /// Closes the socket and ends `requests`.
    public func close() async {
        let id = id
        _ = try? await core.call { $0.remove(id, reason: MessagingError(.closed, "the server was closed")) }
    }
}

extension MessagingNode {
    /// Binds a request/reply server (`inproc://name`, `ipc:///path`, `tcp://127.0.0.1:*`, ...).
    public func server(bind endpoint: String) async throws -> MessageServer {
        let id = core.makeEndpointID()
        let counter = StatisticsCounter(node: core.totals)
        let (stream, continuation) = AsyncStream.makeStream(of: IncomingRequest.self)
        let core = core
        let bound = try await core.call { loop -> String in
            let socket = try loop.makeSocket(.router)
            try socket.setRouterMandatory(true)
            let (bound, companions) = try loop.bindServer(socket, id: id, at: endpoint, counter: counter)
            loop.add(id, ServerEndpoint(id: id, socket: socket, core: core, continuation: continuation, counter: counter,
                                        companionIDs: companions))
            return bound
        }
        return MessageServer(node: self, id: id, endpoint: bound, requests: stream, counter: counter)
    }
}

/// One request received by a `MessageServer`, with the route back to the client that sent it.
public struct IncomingRequest: Sendable {
    public let message: Message
    let routingID: FrameBytes
    let serverID: Int
    let core: NodeCore

    /// False for a one-way `send`: replies to it are dropped (the client is not waiting).
    public var expectsReply: Bool { !message.envelope.oneWay }

    /// Sends `message` as the reply (stamped with this request's sequence). Returns once queued for
    /// the I/O thread; a reply to a client that has gone is dropped and counted as undeliverable.
    public func reply(_ message: Message) throws {
        guard expectsReply else { return }
        let frames = try MessageCodec.encode(core.stamp(message, sequence: self.message.envelope.sequence))
        ServerEndpoint.send(core: core, serverID: serverID, routingID: routingID, frames: frames)
    }

    /// Replies with an error (kind `.error`, metadata `code` and `text`); the client's `request`
    /// throws `MessagingError(.remote(code), text)`. Use codes >= `WireErrorCode.firstApplicationCode`.
    public func replyError(code: Int64, text: String) {
        guard expectsReply else { return }
        let m = Message.errorReply(code: code, text: text, sequence: message.envelope.sequence)
        // An error reply's metadata is an int and a string: encoding cannot fail.
        guard let frames = try? MessageCodec.encode(core.stamp(m, sequence: m.envelope.sequence)) else { return }
        ServerEndpoint.send(core: core, serverID: serverID, routingID: routingID, frames: frames)
    }
}

/// The I/O-thread side of a `MessageServer`.
final class ServerEndpoint: IOEndpoint {
    let id: Int
    let socket: ZMQSocket
    let core: NodeCore
    let counter: StatisticsCounter
    let companionIDs: [Int]
    private let continuation: AsyncStream<IncomingRequest>.Continuation
    /// The sequence numbers each connection used: a message sent again is refused as replayed.
    private var sequences = ConnectionSequenceWindows()

    init(id: Int, socket: ZMQSocket, core: NodeCore, continuation: AsyncStream<IncomingRequest>.Continuation, counter: StatisticsCounter,
         companionIDs: [Int] = []) {
        self.id = id
        self.socket = socket
        self.core = core
        self.continuation = continuation
        self.counter = counter
        self.companionIDs = companionIDs
    }

    func readable(_ loop: IOLoop) throws {
        for _ in 0..<IOLoop.readsPerTurn {
            guard let frames = try socket.receiveFrames(dontWait: true) else { return }
            // A ROUTER always puts the peer's routing id first; the message follows.
            let routingID = frames[0]
            let body = frames.dropFirst()
            let message: Message
            do {
                message = try MessageCodec.decode(body, limits: core.configuration.limits, runID: core.configuration.runID)
            } catch let error as MessagingError {
                counter.addRefusal(error)
                let sequence = body.first.map { $0.withUnsafeBytes { Envelope.salvageSequence($0) } } ?? 0
                refuse(routingID: routingID, error: error, sequence: sequence)
                continue
            }
            let sequence = message.envelope.sequence
            guard sequences.accept(sequence, from: routingID.array) else {
                let error = MessagingError(.replayed, "sequence \(sequence) was already used on this connection, or is older than the last \(SequenceWindow.size) it used")
                counter.addRefusal(error)
                refuse(routingID: routingID, error: error, sequence: sequence)
                continue
            }
            counter.add(\.received)
            if message.kind == .ping {
                let pong = core.stamp(Message(kind: .pong), sequence: message.envelope.sequence)
                if let f = try? MessageCodec.encode(pong) { deliver(routingID: routingID, frames: f) }
            } else {
                continuation.yield(IncomingRequest(message: message, routingID: routingID, serverID: id, core: core))
            }
        }
    }

    /// Answers refused traffic with an error reply naming what was wrong.
    private func refuse(routingID: FrameBytes, error: MessagingError, sequence: UInt64) {
        let m = core.stamp(Message.errorReply(code: error.wireCode, text: error.detail, sequence: sequence), sequence: sequence)
        guard let frames = try? MessageCodec.encode(m) else { return }
        if deliver(routingID: routingID, frames: frames) { counter.add(\.errorRepliesSent) }
    }

    /// Sends to one client without waiting; counts a full queue or a gone peer as undeliverable.
    @discardableResult
    func deliver(routingID: FrameBytes, frames: [FrameBytes]) -> Bool {
        do {
            if try socket.send(frames: [routingID] + frames, dontWait: true) {
                counter.add(\.sent)
                return true
            }
        } catch let e as ZMQError where e.errno == EHOSTUNREACH {
        } catch {
            counter.add(\.socketErrors)
            return false
        }
        counter.add(\.undeliverable)
        return false
    }

    static func send(core: NodeCore, serverID: Int, routingID: FrameBytes, frames: [FrameBytes]) {
        core.post { loop in
            loop.endpoint(serverID, as: ServerEndpoint.self)?.deliver(routingID: routingID, frames: frames)
        }
    }

    func nextDeadline() -> UInt64? { nil }
    func fire(_ loop: IOLoop, now: UInt64) {}

    func close(reason: MessagingError) {
        socket.close()
        continuation.finish()
    }
}
