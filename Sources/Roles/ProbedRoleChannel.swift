import Messaging

/// A channel to a stateless role (reference, reward) that rides out a restart of its process.
///
/// While a request is out it pings the role every `probeInterval` (the role's I/O thread
/// answers, so a role busy computing answers too). A pong from another process than the one
/// that took the request means that process died with it and the launcher started a new one:
/// the request is sent again. A scoring request is a pure function of its batch, so the answer,
/// and the run's bits, are the same; an answer of the old request arriving late is dropped by
/// the client as a reply nobody waits for. A role that answers no ping for `silenceLimit` is
/// dead (or stopped) and was not replaced, and the call fails naming it. That limit
/// (`transport.coordinator_silence_limit_seconds`) is longer than the launcher's
/// (`silence_limit_seconds`), after which the launcher kills a silent role and starts a new one:
/// the new process answers here before this channel gives up.
struct ProbedRoleChannel: RoleChannel {
    let base: MessagingRoleChannel
    let client: MessageClient
    let probeInterval: Duration
    let silenceLimit: Duration
    /// How many times one request is sent again before the call gives up.
    let maxResends: Int
    let log: @Sendable (String) -> Void
    /// The topology's name of the host the role runs on, for messages (nil: not said).
    var host: String? = nil
    /// How long `awaitStarted` waits for the role's first answer.
    var startLimit: Duration = .seconds(600)

    var role: RoleName { base.role }

    private enum Outcome: Sendable {
        case reply(RoleReply)
        case restarted
    }

    func call(_ request: RoleRequest) async throws -> RoleReply {
        var resends = 0
        while true {
            let before = try? await client.instance(timeout: probeInterval)
            let outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
                group.addTask { .reply(try await base.call(request)) }
                group.addTask { try await watch(since: before) }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            switch outcome {
            case .reply(let reply):
                return reply
            case .restarted:
                resends += 1
                guard resends <= maxResends else {
                    throw RoleError(.unavailable, "\(role.rawValue) (\(client.endpoint)) was restarted \(resends) times during one \(request.kind) request; giving up")
                }
                log("\(role.rawValue): a new process answers at \(client.endpoint); sending \(request.kind) again (\(resends) of at most \(maxResends))")
            }
        }
    }

    /// Pings until the role answers, saying every 10 s what is awaited; fails after
    /// `startLimit` (the request timeout: a start is a slow request at worst).
    func awaitStarted() async throws {
        let began = ContinuousClock.now
        var told = began
        while (try? await client.instance(timeout: probeInterval)) == nil {
            try Task.checkCancellation()
            let waited = ContinuousClock.now - began
            if waited > startLimit {
                throw RoleError(.unavailable, "\(role.rawValue) (\(client.endpoint)\(host.map { " on host \($0)" } ?? "")) did not start within \(startLimit) (transport.request_timeout_seconds); see its log")
            }
            if ContinuousClock.now - told >= .seconds(10) {
                told = .now
                log("waiting for \(role.rawValue) at \(client.endpoint) to start (\(Int(waited.components.seconds)) s so far)")
            }
        }
    }

    /// Returns when another process than `before` answers a ping; throws when none answers for
    /// `silenceLimit`.
    private func watch(since before: UInt64?) async throws -> Outcome {
        var lastHeard = ContinuousClock.now
        while true {
            try await Task.sleep(for: probeInterval)
            if let now = try? await client.instance(timeout: probeInterval) {
                // Down when the request went out: whoever answers now may never have seen it.
                guard let before, now == before else { return .restarted }
                lastHeard = .now
            } else {
                try Task.checkCancellation()
                if ContinuousClock.now - lastHeard > silenceLimit {
                    throw RoleError(.unavailable, "\(role.rawValue) (\(client.endpoint)\(host.map { " on host \($0)" } ?? "")) answered no ping for \(silenceLimit) (transport.coordinator_silence_limit_seconds): it is dead or stopped, or its host is gone, and was not replaced; see its log")
                }
            }
        }
    }
}
