import Logging
import Messaging
import Synchronization

/// Whether the coordinator said the run is over, and how: set once by a role server when a
/// `finish` arrives; the first one counts.
final class RunEndNotice: Sendable {
    private let state = Mutex<(outcome: (Bool, String)?, action: (@Sendable () -> Void)?)>((nil, nil))

    func record(succeeded: Bool, reason: String) {
        let action: (@Sendable () -> Void)? = state.withLock {
            guard $0.outcome == nil else { return nil }
            $0.outcome = (succeeded, reason)
            return $0.action
        }
        action?()
    }

    /// Runs `action` when the notice comes (at once if it came already).
    func onRecord(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock {
            $0.action = action
            return $0.outcome != nil
        }
        if now { action() }
    }

    var outcome: (Bool, String)? { state.withLock { $0.outcome } }
}

/// Tells every role process of the run, wherever it is, that the run is over, so hosts without
/// the coordinator stop too (with exit 0 when it finished). Best effort, all at once, a few
/// seconds at most: a role already gone is not waited for.
struct RunEndNotifier: Sendable {
    let node: MessagingNode
    /// Each role and replica endpoint in another process.
    let roles: [(RoleName, String)]
    /// The roles on other hosts than the coordinator's.
    var otherHosts: Set<RoleName> = []
    let logger: Logger
    /// How often `keepAlive` tells them the run goes on.
    var keepAliveInterval: Duration = .seconds(1)
    static let limit: Duration = .seconds(5)

    /// Until cancelled: a `keep_alive` to every role in another process each interval, so a role
    /// on another host learns when the coordinator's host is gone (it then hears nothing).
    /// Failures are not reported: a role that does not answer is the pings' business.
    func keepAlive() async {
        guard !roles.isEmpty, let message = try? RoleMessages.message(RoleCodec.encode(.keepAlive), kind: RoleMessages.roleRequest) else { return }
        var clients: [MessageClient] = []
        for (_, endpoint) in roles {
            if let client = try? await node.client(connect: endpoint) { clients.append(client) }
        }
        while !Task.isCancelled {
            await withTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask { _ = try? await client.request(message, timeout: keepAliveInterval) }
                }
            }
            try? await Task.sleep(for: keepAliveInterval)
        }
    }

    /// Tells `roles` that the run is over. A failure is told only to the roles on other hosts
    /// than the coordinator's (`otherHosts`): on this host the launcher stops them itself, and
    /// the first process to end there must be the coordinator, whose exit names the cause.
    func tell(succeeded: Bool, reason: String) async {
        let roles = succeeded ? self.roles : self.roles.filter { otherHosts.contains($0.0) }
        guard !roles.isEmpty, let message = try? RoleMessages.message(RoleCodec.encode(.finish(succeeded: succeeded, reason: reason)),
                                                                       kind: RoleMessages.roleRequest) else { return }
        let (node, logger) = (self.node, self.logger)
        await withTaskGroup(of: Void.self) { group in
            for (role, endpoint) in roles {
                group.addTask {
                    do {
                        let client = try await node.client(connect: endpoint)
                        _ = try await client.request(message, timeout: Self.limit)
                    } catch {
                        logger.warning("\(role.rawValue) (\(endpoint)) was not told that the run ended: \(error)")
                    }
                }
            }
        }
    }
}
