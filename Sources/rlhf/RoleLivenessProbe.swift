import Messaging
import Roles
import Topology

/// The launcher's pings of the role processes it started, for `ProcessSupervisor.run(liveness:)`:
/// one ZeroMQ client per process, connected to the endpoint the process binds, on a messaging
/// node of the launcher's own. It owns that node: `shutdown()` closes every client with it.
///
/// Our own ping rather than libzmq's ZMTP heartbeats: both are answered by the role's I/O
/// thread, but our pong carries the process's sender id (which process answers), and the
/// watch belongs to the launcher, which owns the processes on its host and can kill them.
final class RoleLivenessProbe: Sendable {
    private let node: MessagingNode
    /// What the supervisor watches: the children named in `endpoints`, pinged through this node.
    let check: LivenessCheck

    /// - Parameters:
    ///   - plan: the run (its id, which a role process checks on every message, and its probe
    ///     interval and silence limit).
    ///   - endpoints: child name -> the endpoint that child binds; children that bind none (the
    ///     coordinator) are left out and not watched.
    init(plan: RunPlan, endpoints: [String: String]) async throws {
        // Its own sender id, as each role process has: not a figure of the run.
        node = try MessagingNode(MessagingNode.Configuration(runID: RunIdentity.number(plan.runID),
                                                             sender: UInt64.random(in: 1...UInt64.max), curve: plan.curve))
        var clients: [String: MessageClient] = [:]
        do {
            for (name, endpoint) in endpoints { clients[name] = try await node.client(connect: endpoint) }
        } catch {
            await node.shutdown()
            throw error
        }
        let interval = Duration.seconds(plan.probeIntervalSeconds)
        let connected = clients
        check = LivenessCheck(children: Set(endpoints.keys), interval: interval, silenceLimit: .seconds(plan.silenceLimitSeconds),
                              setting: "transport.silence_limit_seconds") { name in
            guard let client = connected[name] else { return false }
            return (try? await client.instance(timeout: interval)) != nil
        }
    }

    /// Closes every client and stops the node's I/O thread.
    func shutdown() async { await node.shutdown() }
}
