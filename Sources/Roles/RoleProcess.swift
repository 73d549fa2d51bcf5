import Foundation
import Tensor
import Logging
import Messaging
import ServiceLifecycle
import Synchronization

/// The roles of one process, run as services under one `ServiceGroup`: a `RoleServer` for each
/// role hosted here, and the coordinator when the buffer role is here. SIGINT and SIGTERM stop
/// the group gracefully; when the coordinator finishes, the whole group stops with it.
public enum RoleProcess {
    /// Runs `roles` of `plan` in this process.
    /// - Parameters:
    ///   - plan: the run.
    ///   - roles: the roles this process hosts (all of them for `--single-process`).
    ///   - replica: which replica of a replicated role this process is; nil: all of them.
    ///   - resume: continue from the latest checkpoint (coordinator only).
    ///   - recorder: receives every consumed batch (coordinator only).
    ///   - logger: where the roles log.
    /// - Returns: the coordinator's summary when it ran here.
    @discardableResult
    public static func run(plan: RunPlan, roles: [RoleName], replica: Int? = nil, resume: Bool,
                           recorder: (any ExperienceRecorder)? = nil, logger: Logger) async throws -> Coordinator.Summary? {
        // The sender id on every message this process stamps (pongs included): which process
        // answers, so the coordinator tells a restarted role from the one it sent a request to.
        // Not a figure of the run: drawn from the system's generator, not the run's seed.
        let node = try MessagingNode(MessagingNode.Configuration(runID: RunIdentity.number(plan.runID),
                                                                 sender: UInt64.random(in: 1...UInt64.max), curve: plan.curve),
                                     onRefusedPeer: { logger.warning("\($0)") })
        var handlers: [any RoleHandler] = []
        var roleServers: [RoleServer] = []
        // Set when the coordinator says the run is over (`finish`), which ends this process.
        let runEnd = RunEndNotice()
        do {
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            for role in roles.sorted() where role != .buffer {
                let endpoints = plan.endpoints(of: role)
                let hosted = replica.map { [$0] } ?? Array(endpoints.indices)
                for k in hosted {
                    guard endpoints.indices.contains(k) else {
                        throw RoleError(.badInput, "\(role.rawValue) has \(endpoints.count) replica(s); there is no replica \(k)")
                    }
                    let handler = try await makeHandler(role, plan: plan, node: node, logger: logger)
                    handlers.append(handler)
                    let server = try await node.server(bind: endpoints[k])
                    logger.info("\(role.rawValue)\(endpoints.count > 1 ? " replica \(k)" : ""): serving at \(server.endpoint)")
                    let memoryPlan = try? RoleMemoryPlan.of(role, in: plan)
                    if let memoryPlan { logger.info("\(memoryPlan.summary)") }
                    let roleServer = RoleServer(role: role, server: server, handler: handler, logger: logger,
                                                tensorBytes: memoryPlan?.tensorBytes ?? 0) {
                        runEnd.record(succeeded: $0, reason: $1)
                    }
                    roleServers.append(roleServer)
                    services.append(.init(service: roleServer))
                }
            }
            let summary = SummaryBox()
            if roles.contains(.buffer) {
                var channels: [RoleName: any RoleChannel] = [:]
                let clock = MessagingClock()
                let memory = RoleMemoryReadings()
                for role in plan.roles where role != .buffer {
                    var replicas: [any RoleChannel] = []
                    // A role in another process is pinged while a request to it is out: a
                    // restartable one is ridden out when its launcher starts it again; any role
                    // silent too long (dead, or its whole host gone) stops the run within
                    // seconds, not after the request timeout. A role in this process dies with
                    // the coordinator.
                    let elsewhere = !roles.contains(role)
                    for endpoint in plan.endpoints(of: role) {
                        let client = try await node.client(connect: endpoint)
                        let channel = MessagingRoleChannel(role: role, client: client, timeout: .seconds(plan.requestTimeoutSeconds),
                                                           clock: clock, memory: memory)
                        if elsewhere {
                            replicas.append(ProbedRoleChannel(base: channel, client: client, probeInterval: .seconds(plan.probeIntervalSeconds),
                                                              silenceLimit: .seconds(plan.coordinatorSilenceLimitSeconds), maxResends: plan.restarts[role] ?? 0,
                                                              log: { logger.warning("\($0)") }, host: Set(plan.hosts.values).count > 1 ? plan.hosts[role] : nil,
                                                              startLimit: .seconds(plan.requestTimeoutSeconds)))
                        } else {
                            replicas.append(channel)
                        }
                    }
                    guard !replicas.isEmpty else { throw RoleError(.unavailable, "the run plan gives the \(role.rawValue) role no endpoint") }
                    channels[role] = replicas.count == 1 ? replicas[0] : ReplicatedRoleChannel(role: role, replicas: replicas, sharePrompts: plan.algorithm.sharePrompts) { logger.warning("\($0)") }
                }
                let coordinator = try Coordinator(plan: plan, channels: channels, recorder: recorder, messagingClock: clock, memory: memory) {
                    logger.info("\($0)")
                }
                let others = plan.roles.filter { $0 != .buffer && !roles.contains($0) }.flatMap { role in
                    plan.endpoints(of: role).map { (role, $0) }
                }
                var notifier = RunEndNotifier(node: node, roles: others, logger: logger,
                                              keepAliveInterval: .seconds(plan.probeIntervalSeconds))
                notifier.otherHosts = Set(plan.roles.filter { plan.hosts[$0] != nil && plan.hosts[$0] != plan.hosts[.buffer] })
                services.append(.init(service: CoordinatorService(coordinator: coordinator, resume: resume, summary: summary, notifier: notifier),
                                      successTerminationBehavior: .gracefullyShutdownGroup,
                                      failureTerminationBehavior: .gracefullyShutdownGroup))
            }
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            runEnd.onRecord { Task { await group.triggerGracefulShutdown() } }
            // A process without the coordinator hears from it at least every probe interval
            // (keep-alives) once the run has begun; silence past the coordinator's limit means
            // its host is gone, and this process ends rather than wait forever.
            let servers = roleServers
            let watch = roles.contains(.buffer) || servers.isEmpty ? nil : Task {
                let limit = plan.coordinatorSilenceLimitSeconds
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(min(1, limit / 4)))
                    let heard = servers.compactMap { $0.lastRequest.secondsSince }.min()
                    if let heard, heard > limit {
                        runEnd.record(succeeded: false, reason: String(format: "heard nothing from the coordinator for %.1f s (transport.coordinator_silence_limit_seconds = %g s): its host is gone or it stopped", heard, limit))
                        return
                    }
                }
            }
            defer { watch?.cancel() }
            try await group.run()
            for server in roleServers { logger.info("\(server.trafficSummary)") }
            await stop(handlers, logger: logger)
            await node.shutdown()
            // A role process ends only when told the run is over: exit 0 says the run finished
            // (its launcher, on a host without the coordinator, then ends too), anything else that
            // it did not.
            if !roles.contains(.buffer) {
                switch runEnd.outcome {
                case (true, _)?: break
                case (false, let reason)?: throw RoleError(.failed, reason.hasPrefix("heard nothing") ? reason : "the coordinator stopped the run: \(reason)")
                case nil: throw RoleError(.unavailable, "stopped by a signal before the run finished")
                }
            }
            return summary.value
        } catch {
            for server in roleServers { logger.info("\(server.trafficSummary)") }
            await stop(handlers, logger: logger)
            await node.shutdown()
            throw error
        }
    }

    /// Stops the roles, waiting at most `limit`: a role's thread busy with a request that never
    /// ends (a hung reward program, a stuck forward) cannot take the stop, and the process must
    /// still exit (its threads end with it) rather than wait for the launcher's SIGKILL, or
    /// forever in a one-process run.
    private static func stop(_ handlers: [any RoleHandler], logger: Logger, within limit: Duration = .seconds(5)) async {
        let done = Mutex(false)
        Task {
            for h in handlers { await h.stop() }
            done.withLock { $0 = true }
        }
        let deadline = ContinuousClock.now + limit
        while !done.withLock({ $0 }) {
            guard ContinuousClock.now < deadline else {
                logger.warning("a role is still busy with a request \(limit) after the stop; exiting without waiting for it")
                return
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The role's actor, its logic built on its own thread.
    static func makeHandler(_ role: RoleName, plan: RunPlan, node: MessagingNode, logger: Logger) async throws -> any RoleHandler {
        // Each thread of the role gets the role's own context: the actor's generator and trainer
        // are two threads with the same count, taking turns (generation overlaps training only
        // when the schedule lets it).
        let context = ComputeContext(threads: plan.threads[role] ?? 1, cores: plan.cores[role])
        switch role {
        case .actor:
            // With a generator role the actor only trains (and hands its weights over).
            let generator = plan.hasGenerator ? nil : try await RoleWorker.start(name: "actor-generator", context: context) {
                try GeneratorLogic(plan: plan)
            }
            let trainer = try await RoleWorker.start(name: "actor-trainer", context: context) { try PolicyTrainerLogic(plan: plan) }
            return ActorRole(generator: generator, trainer: trainer, staleness: plan.algorithm.maxStaleness)
        case .reference:
            return try await RoleWorker.start(name: "reference", context: context) { try ReferenceLogic(plan: plan) }
        case .reward:
            return try await RoleWorker.start(name: "reward", context: context) { try RewardLogic(plan: plan) }
        case .critic:
            return CriticRole(worker: try await RoleWorker.start(name: "critic", context: context) { try CriticLogic(plan: plan) })
        case .generator:
            let worker = try await RoleWorker.start(name: "generator", context: context) { try GeneratorLogic(plan: plan, role: .generator) }
            guard let actorEndpoint = plan.endpoints[.actor] else { throw RoleError(.unavailable, "the run plan gives the actor no endpoint") }
            let client = try await node.client(connect: actorEndpoint)
            let actor = MessagingRoleChannel(role: .actor, client: client, timeout: .seconds(plan.requestTimeoutSeconds))
            return GeneratorRole(worker: worker, weights: PolicyWeightsSource(actor: actor), logger: logger)
        case .buffer:
            throw RoleError(.failed, "the buffer role is the coordinator, not a request handler")
        }
    }
}

/// The coordinator as a service: runs the iterations, tells every role in another process that
/// the run is over (and whether it succeeded), then returns (stopping the group).
struct CoordinatorService: Service {
    let coordinator: Coordinator
    let resume: Bool
    let summary: SummaryBox
    let notifier: RunEndNotifier

    func run() async throws {
        let keepAlive = Task { await notifier.keepAlive() }
        do {
            let result = try await cancelWhenGracefulShutdown {
                try await coordinator.run(resume: resume)
            }
            keepAlive.cancel()
            summary.value = result
            await notifier.tell(succeeded: true, reason: "finished")
        } catch {
            keepAlive.cancel()
            await notifier.tell(succeeded: false, reason: "\(error)")
            throw error
        }
    }
}

/// Carries the coordinator's summary out of the service group.
final class SummaryBox: @unchecked Sendable {
    // @unchecked Sendable: written once by the coordinator service before the group ends, read
    // after `group.run()` returns.
    var value: Coordinator.Summary?
}

/// The 64-bit run id stamped on every message: FNV-1a of the run's name, so every process of a
/// run computes the same id from the same topology, and a stale process of another run is refused.
public enum RunIdentity {
    public static func number(_ runID: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in runID.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h == 0 ? 1 : h
    }
}
