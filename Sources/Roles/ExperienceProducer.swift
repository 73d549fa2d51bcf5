import Dispatch
import Training

/// The producing half of a step-3 run: for each iteration in turn, has the actor (or the
/// generator replicas) generate the
/// batch with the version the schedule names, registers it with the buffer, and has the
/// reference, the reward and the critic score it concurrently. The buffer's back-pressure and
/// the actor's wait for its weights keep it at most `max_staleness` batches ahead.
struct ExperienceProducer: Sendable {
    let plan: RunPlan
    let schedule: RunSchedule
    let roles: RoleChannels
    let prompts: PromptSource
    let buffer: ExperienceBuffer
    let kl: KLCoefficients
    let phases: PhaseTimes

    /// Produces every batch of the schedule; on an error, fails the buffer (so the trainers'
    /// wait ends with it) and throws it.
    func run() async throws {
        do {
            for i in schedule.iterations {
                try Task.checkCancellation()
                try await produce(iteration: i)
            }
        } catch {
            await buffer.fail(error)
            throw error
        }
    }

    /// Generates batch `iteration` and has it scored.
    private func produce(iteration: Int) async throws {
        let version = schedule.version(generating: iteration)
        let chosen = prompts.batch(iteration: iteration, count: plan.algorithm.generatedPromptsPerIteration)
        let request = GenerateRequest(batchID: UInt64(iteration), iteration: iteration, prompts: chosen.map(\.ids),
                                      samplesPerPrompt: plan.algorithm.samplesPerPrompt,
                                      seed: schedule.generationSeed(iteration), policyVersion: version)
        let t0 = DispatchTime.now().uptimeNanoseconds
        var batch = try await roles.generation.call(.generate(request), expecting: "a rollout") {
            if case .experiences(let b) = $0 { b } else { nil }
        }
        await phases.recordGeneration(request.batchID, version: version, since: t0)
        guard batch.batchID == request.batchID, batch.B == chosen.count * request.samplesPerPrompt,
              batch.groupSize == request.samplesPerPrompt else {
            throw RoleError(.badInput, "\(roles.generation.role.rawValue) answered batch \(request.batchID) with batch \(batch.batchID) of \(batch.B) rows in groups of \(batch.groupSize)")
        }
        do {
            try batch.validate(vocabSize: Int(Int32.max))  // shapes and lengths; the roles check ids against their vocabularies
        } catch {
            throw RoleError(.badInput, "\(roles.generation.role.rawValue) answered with a malformed batch: \(error)")
        }
        batch.iteration = iteration
        let texts = chosen.flatMap { Array(repeating: $0.text, count: request.samplesPerPrompt) }
        if chosen.count > plan.algorithm.promptsPerIteration {
            return try await keepGroupsWithSignal(batch, texts: texts, criticVersion: version)
        }
        try await buffer.add(batch, klCoef: await kl.value(for: iteration))
        try await score(batch, texts: texts, criticVersion: version)
    }

    /// Dynamic sampling (`dynamic_sampling_prompts`): the reward scores every answer first, and
    /// only the groups `DynamicSampling` keeps go to the buffer and to the other roles.
    private func keepGroupsWithSignal(_ batch: ExperienceBatch, texts: [String], criticVersion: Int) async throws {
        let t1 = DispatchTime.now().uptimeNanoseconds
        let scores = try await roles[.reward].call(.score(batch, texts: texts), expecting: "scores") {
            if case .scores(let v) = $0 { v } else { nil }
        }
        await phases.record(batch.batchID, "reward_s", since: t1)
        guard scores.count == batch.B else {
            throw RoleError(.badInput, "reward answered \(scores.count) scores for \(batch.B) answers")
        }
        let G = batch.groupSize
        let (kept, withSignal) = DynamicSampling.keptGroups(scores: scores, groupSize: G, count: plan.algorithm.promptsPerIteration)
        await phases.note(batch.batchID, "groups_with_signal", Double(withSignal) / Double(batch.B / G))
        let rows = kept.flatMap { ($0 * G)..<(($0 + 1) * G) }
        var selected = batch.selecting(rows: rows)
        selected.groupSize = G
        try await buffer.add(selected, klCoef: await kl.value(for: batch.iteration))
        try await buffer.attach(.scores(rows.map { scores[$0] }), to: batch.batchID)
        try await score(selected, texts: rows.map { texts[$0] }, criticVersion: criticVersion, withReward: false)
    }

    /// The reference's log-probabilities, the reward's scores and the critic's values (by
    /// `criticVersion`), requested together and attached to the batch as they come.
    private func score(_ batch: ExperienceBatch, texts: [String], criticVersion: Int, withReward: Bool = true) async throws {
        let id = batch.batchID
        let (roles, buffer, phases) = (self.roles, self.buffer, self.phases)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let t1 = DispatchTime.now().uptimeNanoseconds
            group.addTask {
                let v = try await roles[.reference].call(.referenceLogProbs(batch), expecting: "log-probabilities") {
                    if case .perToken(let v) = $0 { v } else { nil }
                }
                await phases.record(id, "reference_s", since: t1)
                try await buffer.attach(.referenceLogProbs(v), to: id)
            }
            if withReward {
                group.addTask {
                    let v = try await roles[.reward].call(.score(batch, texts: texts), expecting: "scores") {
                        if case .scores(let v) = $0 { v } else { nil }
                    }
                    await phases.record(id, "reward_s", since: t1)
                    try await buffer.attach(.scores(v), to: id)
                }
            }
            if plan.algorithm.usesCritic {
                group.addTask {
                    let v = try await roles[.critic].call(.values(batch, version: criticVersion), expecting: "values") {
                        if case .perToken(let v) = $0 { v } else { nil }
                    }
                    await phases.record(id, "critic_s", since: t1)
                    try await buffer.attach(.values(v), to: id)
                }
            }
            try await group.waitForAll()
        }
    }
}

/// The coordinator's channels to the roles of a run, one per role.
struct RoleChannels: Sendable {
    let channels: [RoleName: any RoleChannel]

    /// The channel to `role`; the coordinator checked at its start that every role of the
    /// run has one.
    subscript(role: RoleName) -> any RoleChannel { channels[role]! }

    /// Who generates: the generator role when the run has one, else the actor.
    var generation: any RoleChannel { channels[.generator] ?? channels[.actor]! }

    /// Every role's process up.
    func awaitStarted() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for channel in channels.values { group.addTask { try await channel.awaitStarted() } }
            try await group.waitForAll()
        }
    }
}
