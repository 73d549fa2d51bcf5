import Dispatch
import Foundation
import Model
import Training

/// Drives a step-3 run: each iteration the actor answers a batch of prompts, the reference, the
/// reward and the critic score it concurrently, the experience buffer joins the results and
/// computes advantages, and the actor and critic train on it concurrently.
///
/// The parts have one owner each: `RunSchedule` says which versions, seeds and β every batch
/// gets and when the run evaluates and saves; `ExperienceProducer` generates and scores batches
/// (up to `max_staleness` ahead); `ExperienceBuffer` joins and orders them; `RunCheckpoints`
/// saves and restores; `IterationLog` writes the figures. `run` is the trainers' side: the
/// steps of an iteration in order.
public final class Coordinator: Sendable {
    public let plan: RunPlan
    let roles: RoleChannels
    let prompts: PromptSource
    let evaluation: HeldOutEvaluation?
    let recorder: (any ExperienceRecorder)?
    let messagingClock: MessagingClock?
    /// The roles' memory figures, which their replies carry (logged per iteration).
    let memory: RoleMemoryReadings?
    /// What the buffer's tensors need: the coordinator's own process reports it.
    let bufferTensorBytes: Int?
    let log: @Sendable (String) -> Void

    /// - Parameters:
    ///   - plan: the run.
    ///   - channels: a channel to every role of `plan.roles` except the buffer.
    ///   - recorder: receives every batch the trainers consume.
    ///   - log: progress lines.
    ///   - messagingClock: where the channels add up their messaging time (logged per iteration).
    ///   - memory: where the channels keep the roles' memory figures (logged per iteration).
    public init(plan: RunPlan, channels: [RoleName: any RoleChannel], recorder: (any ExperienceRecorder)? = nil,
                messagingClock: MessagingClock? = nil, memory: RoleMemoryReadings? = nil,
                log: @escaping @Sendable (String) -> Void) throws {
        self.plan = plan
        self.recorder = recorder
        self.messagingClock = messagingClock
        self.memory = memory
        bufferTensorBytes = memory == nil ? nil : (try? RoleMemoryPlan.of(.buffer, in: plan))?.tensorBytes
        self.log = log
        for role in plan.roles where role != .buffer && channels[role] == nil {
            throw RoleError(.unavailable, "coordinator: no channel to the \(role.rawValue) role")
        }
        roles = RoleChannels(channels: channels)
        prompts = try PromptSource(file: plan.promptsFile, modelDirectory: plan.actorModel,
                                   maxPromptLength: plan.algorithm.maxPromptLength, seed: plan.seed,
                                   userTemplate: plan.promptTemplate)
        evaluation = plan.evalPromptsFile == nil ? nil : try HeldOutEvaluation(plan: plan)
    }

    /// What a finished run reports.
    public struct Summary: Sendable {
        public var iterations: Int
        public var lastMetrics: [String: Double]
        public var finalModel: String
    }

    // MARK: - The run

    /// Runs the remaining iterations, saving on schedule and at the end, then saves the final
    /// actor into `<run>/final`.
    /// - Parameter resume: continue from the latest complete checkpoint, if any.
    public func run(resume: Bool) async throws -> Summary {
        try await roles.awaitStarted()
        let checkpoints = RunCheckpoints(plan: plan, roles: roles)
        let start = try await checkpoints.prepare(resume: resume)
        if let resumed = start.checkpoint {
            log("resumed from \(resumed) (iteration \(start.iteration), policy version \(start.iteration))")
        }
        let schedule = RunSchedule(plan: plan, start: start.iteration, keptVersions: start.keptVersions)
        let iterationLog = try IterationLog(plan: plan, schedule: schedule, resumed: resume, log: log)
        let buffer = ExperienceBuffer(config: plan.algorithm, capacity: plan.algorithm.maxStaleness + 1,
                                      firstBatch: UInt64(start.iteration))
        try await recorder?.start(at: start.iteration)
        let kl = KLCoefficients(config: plan.algorithm, startIteration: start.iteration, startValue: start.klCoef,
                                decided: start.klCoefs)
        let phases = PhaseTimes()
        let producer = ExperienceProducer(plan: plan, schedule: schedule, roles: roles, prompts: prompts, buffer: buffer,
                                          kl: kl, phases: phases)
        let producing = Task { try await producer.run() }
        var last: [String: Double] = [:]
        // A graceful shutdown cancels this task: the producer, an unstructured task, is cancelled
        // with it (its request in flight ends), and the trainers' wait for a batch ends too.
        try await withTaskCancellationHandler {
            do {
                for i in schedule.iterations {
                    last = try await iterate(i, schedule: schedule, buffer: buffer, kl: kl, phases: phases, log: iterationLog)
                    if schedule.saves(after: i) {
                        let path = try await checkpoints.save(iteration: i + 1, policyVersion: schedule.version(after: i),
                                                              klCoef: await kl.now, klCoefs: await kl.decided(from: i + 1))
                        try await recorder?.checkpointed(iteration: i + 1)
                        log("checkpoint \(path)")
                    }
                }
            } catch {
                // The producer may be waiting for room in the buffer: failing it wakes that wait.
                await buffer.fail(error)
                producing.cancel()
                throw error
            }
        } onCancel: {
            producing.cancel()
            Task { await buffer.fail(CancellationError()) }
        }
        try await producing.value
        let final = try await checkpoints.saveFinal()
        log("final actor saved in \(final)")
        return Summary(iterations: plan.iterations, lastMetrics: last, finalModel: final)
    }

    /// One iteration on the trainers' side: take batch `i` when it is complete, train on it,
    /// let the KL controller see it, record it, evaluate on schedule, and write its figures.
    /// - Returns: the iteration's figures.
    private func iterate(_ i: Int, schedule: RunSchedule, buffer: ExperienceBuffer, kl: KLCoefficients, phases: PhaseTimes,
                         log iterationLog: IterationLog) async throws -> [String: Double] {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let batch = try await buffer.take()
        let t1 = DispatchTime.now().uptimeNanoseconds
        let trained = try await train(batch, phases: phases)
        await phases.record(batch.batchID, "train_s", since: t1)
        let version = schedule.version(after: i)
        guard trained.policyVersion == version else {
            throw RoleError(.failed, "actor: after training batch \(i) it holds policy version \(trained.policyVersion); the schedule expects \(version)")
        }
        let klCoefOfBatch = await kl.value(for: i)
        var line = IterationMetrics.of(batch, config: plan.algorithm)
        for (k, v) in trained.metrics { line[k] = v }
        for (k, v) in await phases.take(batch.batchID) { line[k] = v }
        line["policy_version"] = Double(version)
        line["kl_coef"] = await kl.now
        _ = await kl.consumed(iteration: i, kl: line["kl"] ?? 0, samples: batch.B)
        line["policy_lag"] = Double(version - 1 - batch.policyVersion)
        if let recorder {
            let t2 = DispatchTime.now().uptimeNanoseconds
            var figures = trained.metrics
            figures["policy_version"] = Double(version)
            try await recorder.record(ExperienceRecord(
                batch: batch, klCoef: klCoefOfBatch, runSeed: plan.seed, generationSeed: schedule.generationSeed(i),
                policyVersionAfter: version, trained: figures, digests: trained.digests))
            line["record_s"] = Double(DispatchTime.now().uptimeNanoseconds - t2) / 1e9
        }
        line["iteration_s"] = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if let clock = messagingClock { line["messaging_s"] = clock.take() }
        if let memory {
            memory.record(.buffer, peakBytes: SystemMemory.peakResidentBytes, tensorBytes: bufferTensorBytes)
            for (k, v) in memory.metrics { line[k] = v }
        }
        if let evaluation, schedule.evaluates(after: i) {
            // The trainer answers, by the version it just made: generation of the next batches
            // goes on meanwhile on the generator's thread, with older weights.
            for (k, v) in try await evaluation.run(roles[.actor], policyVersion: version) { line[k] = v }
        }
        try iterationLog.write(iteration: i, line)
        return line
    }

    /// What the trainers said of one batch.
    private struct Trained {
        /// The trainers' figures (losses, clip fractions, grad norms, rates).
        var metrics: [String: Double]
        /// The actor's policy version after the update.
        var policyVersion: Int
        /// Digests of each trainer's weights after the update, by role.
        var digests: [String: [TensorDigest]]
    }

    /// Trains the actor (and the critic) on one batch, concurrently.
    private func train(_ batch: ExperienceBatch, phases: PhaseTimes) async throws -> Trained {
        let actor = roles[.actor]
        async let policy = {
            let (m, version, d) = try await actor.call(.trainPolicy(batch), expecting: "training figures") {
                if case .trained(let m, let v, let d) = $0 { (m, v, d) } else { nil }
            }
            await phases.generatorHolds(version: version)
            return (m, version, d)
        }()
        var out = Trained(metrics: [:], policyVersion: 0, digests: [:])
        if plan.algorithm.usesCritic {
            let (value, critic) = try await roles[.critic].call(.trainValue(batch), expecting: "training figures") {
                if case .trained(let m, _, let d) = $0 { (m, d) } else { nil }
            }
            for (k, v) in value { out.metrics[k] = v }
            out.digests[RoleName.critic.rawValue] = critic
        }
        let (m, version, digests) = try await policy
        for (k, v) in m { out.metrics[k] = v }
        out.policyVersion = version
        out.digests[RoleName.actor.rawValue] = digests
        return out
    }
}
