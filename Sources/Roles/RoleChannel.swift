/// How the coordinator reaches a role: a request and its reply, or a `RoleError` that names the
/// role (its own error reply, a timeout, or a transport failure).
public protocol RoleChannel: Sendable {
    var role: RoleName { get }
    func call(_ request: RoleRequest) async throws -> RoleReply
    /// Returns once the role's process is up (answers a ping), before the run's first request:
    /// a role loading a large model can take many seconds to bind, and a request sent before
    /// then would leave no process to tell a restart from a first start.
    func awaitStarted() async throws
}

extension RoleChannel {
    /// A role in the caller's own process is up already.
    public func awaitStarted() async throws {}

    /// The reply, which must be of the kind `extract` accepts.
    func call<T>(_ request: RoleRequest, expecting what: String, _ extract: (RoleReply) -> T?) async throws -> T {
        let reply = try await call(request)
        guard let value = extract(reply) else {
            throw RoleError(.badInput, "\(role.rawValue) answered \(request.kind) with something other than \(what)")
        }
        return value
    }
}
