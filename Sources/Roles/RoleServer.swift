import Dispatch
import Logging
import Messaging
import ServiceLifecycle
import Synchronization

/// Serves one role's requests at its endpoint: decodes each message, hands it to the role's
/// actor, and replies. Requests are handled concurrently (the actor role overlaps generating
/// and training); each role's own actor keeps its compute in order.
///
/// A message that is not a well-formed role request is answered with an error reply, logged and
/// counted, and the server goes on.
public struct RoleServer: Service {
    public let role: RoleName
    let server: MessageServer
    let handler: any RoleHandler
    let logger: Logger
    /// Requests refused because they could not be decoded.
    public let badRequests = Counter()

    public init(role: RoleName, server: MessageServer, handler: any RoleHandler, logger: Logger) {
        self.role = role
        self.server = server
        self.handler = handler
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for await incoming in server.requests {
                    group.addTask { await serve(incoming) }
                }
            }
        } onGracefulShutdown: {
            Task { await server.close() }
        }
    }

    private func serve(_ incoming: IncomingRequest) async {
        let request: RoleRequest
        do {
            request = try RoleCodec.decodeRequest(try RoleMessages.payload(incoming.message, expecting: RoleMessages.roleRequest))
        } catch {
            let n = badRequests.increment()
            logger.warning("\(role.rawValue): refused a malformed request (\(n) so far): \(error)")
            incoming.replyError(code: 100, text: "\(error)")
            return
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let result = await handler.handle(request)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        switch result {
        case .success(let reply):
            do {
                var message = try RoleMessages.message(RoleCodec.encode(reply), kind: RoleMessages.roleReply)
                // How long the role itself took, so the caller can tell messaging time apart.
                message.metadata["handler_s"] = .double(seconds)
                try incoming.reply(message)
            } catch {
                logger.error("\(role.rawValue): cannot send the reply to \(request.kind): \(error)")
            }
        case .failure(let error):
            logger.error("\(role.rawValue): \(request.kind) failed: \(error.message)")
            incoming.replyError(code: 101, text: error.message)
        }
    }
}

/// A count shared between tasks.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    @discardableResult
    public func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
    public var count: Int { value.load(ordering: .relaxed) }
}
