import Dispatch
import Foundation
import Training

/// Drives a step-3 run: each iteration the actor answers a batch of prompts, the reference, the
/// reward and the critic score it concurrently, the experience buffer joins the results and
/// computes advantages, and the actor and critic train on it concurrently.
///
/// Generation of iteration i uses policy version `max(i - max_staleness, resumed version)`, and
/// runs as soon as those weights exist: at staleness 0 strictly after the previous update
/// (synchronous PPO), at staleness s up to s batches ahead of the trainers. Every figure of the
/// schedule (which weights, which prompts, which seed, which β) depends on the iteration only,
/// so the same seeds and thread counts give the same bits in one process or in five.
public final class Coordinator: Sendable {
    public let plan: RunPlan
    let channels: [RoleName: any RoleChannel]
    let prompts: PromptSource
    let evaluation: HeldOutEvaluation?
    let recorder: (any ExperienceRecorder)?
    let messagingClock: MessagingClock?
    let log: @Sendable (String) -> Void

    /// - Parameters:
    ///   - plan: the run.
    ///   - channels: a channel to every role of `plan.roles` except the buffer.
    ///   - recorder: receives every batch the trainers consume.
    ///   - log: progress lines.
    ///   - messagingClock: where the channels add up their messaging time (logged per iteration).
    public init(plan: RunPlan, channels: [RoleName: any RoleChannel], recorder: (any ExperienceRecorder)? = nil,
                messagingClock: MessagingClock? = nil, log: @escaping @Sendable (String) -> Void) throws {
        self.plan = plan
        self.channels = channels
        self.recorder = recorder
        self.messagingClock = messagingClock
        self.log = log
        prompts = try PromptSource(file: plan.promptsFile, modelDirectory: plan.actorModel,
                                   maxPromptLength: plan.algorithm.maxPromptLength, seed: plan.seed,
                                   userTemplate: plan.promptTemplate)
        evaluation = plan.evalPromptsFile == nil ? nil : try HeldOutEvaluation(plan: plan)
        for role in plan.roles where role != .buffer && channels[role] == nil {
            throw RoleError(.unavailable, "coordinator: no channel to the \(role.rawValue) role")
        }
    }

    /// What a finished run reports.
    public struct Summary: Sendable {
        public var iterations: Int
        public var lastMetrics: [String: Double]
        public var finalModel: String
    }

    private func channel(_ role: RoleName) -> any RoleChannel { channels[role]! }

    // MARK: - The run

    /// Runs the remaining iterations, saving on schedule and at the end, then saves the final
    /// actor into `<run>/final`.
    /// - Parameter resume: continue from the latest complete checkpoint, if any.
    public func run(resume: Bool) async throws -> Summary {
        let run = RunDirectory(path: plan.directory)
        try FileManager.default.createDirectory(atPath: plan.directory, withIntermediateDirectories: true)
        try run.removeInterruptedSaves()
        var start = 0, klCoef = plan.algorithm.klCoef
        if resume, let latest = CheckpointState.latest(in: plan.directory) {
            try await restore(iteration: latest.state.iteration)
            start = latest.state.iteration
            klCoef = latest.state.klCoef
            log("resumed from \(latest.path) (iteration \(start), policy version \(latest.state.policyVersion))")
        } else if !CheckpointState.all(in: plan.directory).isEmpty {
            throw RoleError(.checkpoint, "\(plan.directory) holds checkpoints of an earlier run; resume it (--resume) or choose another run directory")
        }
        let metrics = try MetricsLog(directory: plan.directory, keepingStepsUpTo: resume ? start : nil)
        let tensorBoard = plan.reportToTensorBoard ? try TensorBoardLog(directory: plan.directory, resumedAt: resume ? start : nil) : nil
        let buffer = ExperienceBuffer(config: plan.algorithm, capacity: plan.algorithm.maxStaleness + 1,
                                      firstBatch: UInt64(start))
        try await recorder?.start(at: start)
        let kl = KLCoefficients(config: plan.algorithm, startIteration: start, startValue: klCoef)
        let phases = PhaseTimes()
        let firstVersion = start, first = start
        let producer = Task {
            do {
                for i in first..<plan.iterations {
                    try Task.checkCancellation()
                    try await produce(iteration: i, version: max(firstVersion, i - plan.algorithm.maxStaleness), buffer: buffer, kl: kl,
                                      phases: phases)
                }
            } catch {
                await buffer.fail(error)
                throw error
            }
        }
        var last: [String: Double] = [:]
        var clock = ProgressClock(total: plan.iterations - start)
        // A graceful shutdown cancels this task: the producer, an unstructured task, is cancelled
        // with it (its request in flight ends), and the trainers' wait for a batch ends too.
        try await withTaskCancellationHandler {
          do {
            for i in start..<plan.iterations {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let batch = try await buffer.take()
                let t1 = DispatchTime.now().uptimeNanoseconds
                let (trained, digests) = try await train(batch, phases: phases)
                await phases.record(batch.batchID, "train_s", since: t1)
                let version = Int(trained["policy_version"] ?? 0)
                let klCoefOfBatch = await kl.value(for: i)
                var line = IterationMetrics.of(batch, config: plan.algorithm)
                for (k, v) in trained { line[k] = v }
                for (k, v) in await phases.take(batch.batchID) { line[k] = v }
                line["kl_coef"] = await kl.now
                _ = await kl.consumed(iteration: i, kl: line["kl"] ?? 0, samples: batch.B)
                line["policy_lag"] = Double(version - 1 - batch.policyVersion)
                if let recorder {
                    let t2 = DispatchTime.now().uptimeNanoseconds
                    try await recorder.record(ExperienceRecord(
                        batch: batch, klCoef: klCoefOfBatch, runSeed: plan.seed, generationSeed: plan.generationSeed(iteration: i),
                        policyVersionAfter: version, trained: trained, digests: digests))
                    line["record_s"] = Double(DispatchTime.now().uptimeNanoseconds - t2) / 1e9
                }
                line["iteration_s"] = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if let clock = messagingClock { line["messaging_s"] = clock.take() }
                let evaluates = plan.evalEvery > 0 && ((i + 1) % plan.evalEvery == 0 || i + 1 == plan.iterations)
                if let evaluation, evaluates {
                    // The trainer answers, by the version it just made: generation of the next
                    // batches goes on meanwhile on the generator's thread, with older weights.
                    for (k, v) in try await evaluation.run(channel(.actor), policyVersion: version) { line[k] = v }
                }
                var object: [String: Any] = ["step": i + 1]
                for (k, v) in line { object[k] = v }
                try metrics.append(object)
                try tensorBoard?.append(object)
                last = line
                clock.tick()
                if (i + 1) % max(1, plan.logEvery) == 0 || i + 1 == plan.iterations {
                    log(IterationMetrics.summary(iteration: i + 1, of: plan.iterations, line, eta: clock.eta))
                }
                if (i + 1) % max(1, plan.saveEvery) == 0 || i + 1 == plan.iterations {
                    try await checkpoint(iteration: i + 1, policyVersion: version, klCoef: await kl.now)
                }
            }
          } catch {
            // The producer may be waiting for room in the buffer: failing it wakes that wait.
            await buffer.fail(error)
            producer.cancel()
            throw error
          }
        } onCancel: {
            producer.cancel()
            Task { await buffer.fail(CancellationError()) }
        }
        try await producer.value
        let layout = CheckpointLayout(runDirectory: plan.directory)
        try await layout.save(.final) { _ in
            _ = try await self.channel(.actor).call(.save(.final))
        }
        log("final actor saved in \(layout.final)")
        return Summary(iterations: plan.iterations, lastMetrics: last, finalModel: layout.final)
    }

    // MARK: - One batch

    /// Generates iteration `iteration`'s batch with policy `version` and has it scored.
    private func produce(iteration: Int, version: Int, buffer: ExperienceBuffer, kl: KLCoefficients, phases: PhaseTimes) async throws {
        let chosen = prompts.batch(iteration: iteration, count: plan.algorithm.promptsPerIteration)
        let request = GenerateRequest(batchID: UInt64(iteration), iteration: iteration, prompts: chosen.map(\.ids),
                                      samplesPerPrompt: plan.algorithm.samplesPerPrompt,
                                      seed: plan.generationSeed(iteration: iteration), policyVersion: version)
        let t0 = DispatchTime.now().uptimeNanoseconds
        var batch = try await channel(.actor).call(.generate(request), expecting: "a rollout") {
            if case .experiences(let b) = $0 { b } else { nil }
        }
        await phases.recordGeneration(request.batchID, version: version, since: t0)
        guard batch.batchID == request.batchID, batch.B == chosen.count * request.samplesPerPrompt,
              batch.groupSize == request.samplesPerPrompt else {
            throw RoleError(.badInput, "actor answered batch \(request.batchID) with batch \(batch.batchID) of \(batch.B) rows in groups of \(batch.groupSize)")
        }
        do {
            try batch.validate(vocabSize: Int(Int32.max))  // shapes and lengths; the roles check ids against their vocabularies
        } catch {
            throw RoleError(.badInput, "actor answered with a malformed batch: \(error)")
        }
        batch.iteration = iteration
        let texts = chosen.flatMap { Array(repeating: $0.text, count: request.samplesPerPrompt) }
        try await buffer.add(batch, klCoef: await kl.value(for: iteration))
        let id = batch.batchID
        let scored = batch
        try await withThrowingTaskGroup(of: Void.self) { group in
            let t1 = DispatchTime.now().uptimeNanoseconds
            group.addTask {
                let v = try await self.channel(.reference).call(.referenceLogProbs(scored), expecting: "log-probabilities") {
                    if case .perToken(let v) = $0 { v } else { nil }
                }
                await phases.record(id, "reference_s", since: t1)
                try await buffer.attach(.referenceLogProbs(v), to: id)
            }
            group.addTask {
                let v = try await self.channel(.reward).call(.score(scored, texts: texts), expecting: "scores") {
                    if case .scores(let v) = $0 { v } else { nil }
                }
                await phases.record(id, "reward_s", since: t1)
                try await buffer.attach(.scores(v), to: id)
            }
            if plan.algorithm.usesCritic {
                group.addTask {
                    let v = try await self.channel(.critic).call(.values(scored, version: version), expecting: "values") {
                        if case .perToken(let v) = $0 { v } else { nil }
                    }
                    await phases.record(id, "critic_s", since: t1)
                    try await buffer.attach(.values(v), to: id)
                }
            }
            try await group.waitForAll()
        }
    }

    /// Trains the actor (and the critic) on one batch, concurrently.
    /// - Returns: the trainers' figures, and the digests of each trainer's weights after the update.
    private func train(_ batch: ExperienceBatch, phases: PhaseTimes) async throws -> ([String: Double], [String: [TensorDigest]]) {
        let actorChannel = channel(.actor)
        async let policy = {
            let (m, version, d) = try await actorChannel.call(.trainPolicy(batch), expecting: "training figures") {
                if case .trained(let m, let v, let d) = $0 { (m, v, d) } else { nil }
            }
            await phases.generatorHolds(version: version)
            return (m, version, d)
        }()
        var out: [String: Double] = [:]
        var digests: [String: [TensorDigest]] = [:]
        if plan.algorithm.usesCritic {
            let (value, critic) = try await channel(.critic).call(.trainValue(batch), expecting: "training figures") {
                if case .trained(let m, _, let d) = $0 { (m, d) } else { nil }
            }
            for (k, v) in value { out[k] = v }
            digests[RoleName.critic.rawValue] = critic
        }
        let (m, version, actor) = try await policy
        for (k, v) in m { out[k] = v }
        out["policy_version"] = Double(version)
        digests[RoleName.actor.rawValue] = actor
        return (out, digests)
    }

    // MARK: - Checkpoints

    /// `checkpoint-N/` with `actor/`, `critic/` and `coordinator_state.json`, staged under a
    /// temporary name the roles derive from the iteration and renamed whole.
    private func checkpoint(iteration: Int, policyVersion: Int, klCoef: Double) async throws {
        let layout = CheckpointLayout(runDirectory: plan.directory)
        try await layout.save(.checkpoint(iteration: iteration)) { staging in
            _ = try await self.channel(.actor).call(.save(.checkpoint(iteration: iteration)))
            if self.plan.algorithm.usesCritic {
                _ = try await self.channel(.critic).call(.save(.checkpoint(iteration: iteration)))
            }
            try CheckpointState(iteration: iteration, policyVersion: policyVersion, klCoef: klCoef, runID: plan.runID).write(to: staging)
        }
        try await recorder?.checkpointed(iteration: iteration)
        log("checkpoint \(layout.checkpoint(iteration: iteration))")
    }

    private func restore(iteration: Int) async throws {
        _ = try await channel(.actor).call(.restore(iteration: iteration))
        if plan.algorithm.usesCritic {
            _ = try await channel(.critic).call(.restore(iteration: iteration))
        }
    }
}

/// Wall seconds of each phase of each batch (generation, each role's scoring, training), logged
/// with its iteration: where an iteration's time goes, role by role.
actor PhaseTimes {
    private var times: [UInt64: [String: Double]] = [:]
    /// When the coordinator heard that the actor's generator holds each policy version (the
    /// actor hands the weights over before it answers `trainPolicy`).
    private var versionReady: [Int: UInt64] = [:]

    func record(_ batchID: UInt64, _ name: String, since start: UInt64) {
        times[batchID, default: [:]][name] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func generatorHolds(version: Int) {
        versionReady[version] = DispatchTime.now().uptimeNanoseconds
        // Only recent versions can still be waited for; an older one missing from the table
        // counts as held from the start of the request, which it was.
        versionReady = versionReady.filter { $0.key >= version - 8 }
    }

    /// `generate_s`, the generation itself, and `generate_wait_s`, the part of the request spent
    /// waiting for the generator to hold `version` (a request for the next batch goes out before
    /// the update that makes its weights, unless `max_staleness` lets it use older ones).
    func recordGeneration(_ batchID: UInt64, version: Int, since start: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        let began = min(now, max(start, versionReady[version] ?? start))
        times[batchID, default: [:]]["generate_wait_s"] = Double(began - start) / 1e9
        times[batchID, default: [:]]["generate_s"] = Double(now - began) / 1e9
    }

    func take(_ batchID: UInt64) -> [String: Double] {
        times.removeValue(forKey: batchID) ?? [:]
    }
}
