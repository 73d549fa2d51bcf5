import Dispatch
import Logging
import Messaging
import Model
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
    /// Told when the coordinator says the run is over (`finish`): whether it succeeded, and why
    /// not.
    let onFinish: @Sendable (Bool, String) -> Void
    /// When a well-formed request (any kind) last arrived: what tells a role on another host
    /// that its coordinator is still there.
    public let lastRequest = RequestClock()
    /// What the role's tensors need (`RoleMemoryPlan`), sent with every reply beside the
    /// process's peak resident memory; 0 when unknown.
    let tensorBytes: Int

    public init(role: RoleName, server: MessageServer, handler: any RoleHandler, logger: Logger, tensorBytes: Int = 0,
                onFinish: @escaping @Sendable (Bool, String) -> Void = { _, _ in }) {
        self.role = role
        self.tensorBytes = tensorBytes
        self.server = server
        self.handler = handler
        self.logger = logger
        self.onFinish = onFinish
    }

    public func run() async throws {
        let inFlight = Counter()
        await withGracefulShutdownHandler {
            for await incoming in server.requests {
                inFlight.increment()
                // Not a child task: a task group would hold this service, and the process, until
                // every request returned, and a role stuck in one (a hung reward program) would
                // then keep a stopped run alive. Each task ends when its request does.
                Task {
                    await serve(incoming)
                    inFlight.decrement()
                }
            }
            // The server closed: give requests in flight a moment to finish, not forever.
            let deadline = ContinuousClock.now + Self.drainLimit
            while inFlight.count > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            let left = inFlight.count
            if left > 0 { logger.warning("\(role.rawValue): stopping with \(left) request(s) still being handled") }
        } onGracefulShutdown: {
            Task { await server.close() }
        }
    }

    /// How long a stopping server waits for the requests it is handling.
    static let drainLimit: Duration = .seconds(5)

    /// Whether the `n`th refused request is logged: 1 to 10, then 100, 1000, ...
    static func isLogged(refusal n: Int) -> Bool {
        var p = n
        while p >= 10, p % 10 == 0 { p /= 10 }
        return n <= 10 || p == 1
    }

    /// One line for the role's log at exit: what came to its endpoint and what was refused
    /// (Messaging's counters, then the requests this server could not decode).
    public var trafficSummary: String {
        "\(role.rawValue) traffic at \(server.endpoint): \(server.statistics), badRequests \(badRequests.count)"
    }

    private func serve(_ incoming: IncomingRequest) async {
        let request: RoleRequest
        do {
            request = try RoleCodec.decodeRequest(try RoleMessages.payload(incoming.message, expecting: RoleMessages.roleRequest))
        } catch {
            let n = badRequests.increment()
            // A flood of bad requests must not become a flood of log lines: the first ten, then
            // each power of ten (every one is counted, and the count is logged at exit).
            if Self.isLogged(refusal: n) {
                logger.warning("\(role.rawValue): refused a malformed request (\(n) so far\(n >= 10 ? "; from now on only every power of ten is logged" : "")): \(error)")
            }
            incoming.replyError(code: 100, text: "\(error)")
            return
        }
        lastRequest.mark()
        switch request {
        case .finish(let succeeded, let reason):
            if let done = try? RoleMessages.message(RoleCodec.encode(RoleReply.done), kind: RoleMessages.roleReply) { try? incoming.reply(done) }
            onFinish(succeeded, reason)
            return
        case .keepAlive:
            if let done = try? RoleMessages.message(RoleCodec.encode(RoleReply.done), kind: RoleMessages.roleReply) { try? incoming.reply(done) }
            return
        default:
            break
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
                // The process's high-water mark so far, for the run's memory figures.
                message.metadata["peak_rss_bytes"] = .double(Double(SystemMemory.peakResidentBytes))
                if tensorBytes > 0 { message.metadata["tensor_bytes"] = .double(Double(tensorBytes)) }
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

/// When something last happened (nanoseconds of the monotonic clock; 0: never).
public final class RequestClock: Sendable {
    private let nanoseconds = Atomic<UInt64>(0)
    public init() {}
    func mark() { nanoseconds.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
    /// Seconds since the last mark, or nil before the first.
    public var secondsSince: Double? {
        let t = nanoseconds.load(ordering: .relaxed)
        return t == 0 ? nil : Double(DispatchTime.now().uptimeNanoseconds &- t) / 1e9
    }
}

/// A count shared between tasks.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    @discardableResult
    public func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
    @discardableResult
    public func decrement() -> Int { value.subtract(1, ordering: .relaxed).newValue }
    public var count: Int { value.load(ordering: .relaxed) }
}
