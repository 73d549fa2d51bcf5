/// The actor role: a generator and a trainer, each on its own thread with its own copy of the
/// weights, so generating the next batch overlaps training on the last one.
///
/// After each update the trainer's new weights (only the adapters under LoRA) are kept here by
/// version: the last `max_staleness + 1` of them. A `generate` request names the version it
/// must use, waits until that version exists, and the generator loads exactly it before
/// sampling, so which weights answer which batch is fixed by the schedule, never by timing. A
/// checkpoint saves the older versions still to be generated with beside the trainer's weights,
/// and a restore brings them back, so a resumed pipelined run goes on as an uninterrupted one.
/// Evaluation answers (`answer`) come from the trainer, which holds exactly the version they name.
///
/// When the run has a `generator` role, the actor has no generator of its own: the generator
/// replicas ask it for the versions they need (`weights`), chunk by chunk, from the same history.
public actor ActorRole: RoleHandler {
    let generator: RoleWorker?
    let trainer: RoleWorker
    /// Older versions kept besides the newest (`max_staleness`).
    let staleness: Int
    /// The version the generator holds (-1: none of the run's, after a restore).
    private var generatorVersion = 0
    /// The trainer's recent versions, newest included.
    private var history: [Int: WeightsUpdate] = [:]
    private var waiters = VersionWaiters()
    private var stopped = false

    /// - Parameter generator: the actor's own generator, or nil when a `generator` role generates.
    public init(generator: RoleWorker?, trainer: RoleWorker, staleness: Int) {
        self.generator = generator
        self.trainer = trainer
        self.staleness = max(0, staleness)
    }

    public func handle(_ request: RoleRequest) async -> Result<RoleReply, RoleError> {
        do {
            switch request {
            case .generate(let r):
                guard let generator else {
                    throw RoleError(.badInput, "actor: this run generates with its generator role; the actor only trains")
                }
                return .success(try await generate(request, version: r.policyVersion, on: generator))
            case .weights(let version, let chunk):
                return .success(.weights(try await weightsChunk(version: version, chunk: chunk)))
            case .trainPolicy:
                // The starting weights are a version too (batches up to max_staleness use them).
                if history.isEmpty { keep(try await trainerWeights()) }
                let result = await trainer.handle(request)
                if case .success = result { keep(try await trainerWeights()) }
                return result
            case .save(let target):
                let newest = history.keys.max() ?? 0
                let older = history.filter { $0.key < newest }.mapValues(\.values)
                try await trainer.withLogic { try Self.trainerLogic($0).save(target, history: older) }
                return .success(.done)
            case .restore(let iteration):
                // The older versions' updates are made on the trainer's thread (each is checksummed).
                let older = try await trainer.withLogic { logic in
                    let t = try Self.trainerLogic(logic)
                    return try t.restore(iteration: iteration).map { t.update(version: $0.key, values: $0.value) }
                }
                let current = try await trainerWeights()
                history = [:]
                for update in older where update.version < current.version { history[update.version] = update }
                generatorVersion = -1
                keep(current)
                return .success(.done)
            default:
                return await trainer.handle(request)
            }
        } catch {
            return .failure(error as? RoleError ?? RoleError(.failed, "actor: \(error)"))
        }
    }

    /// Keeps `update` as the newest version, drops those no batch will be generated with any
    /// more, and wakes requests waiting for it.
    private func keep(_ update: WeightsUpdate) {
        history[update.version] = update
        history = history.filter { $0.key >= update.version - staleness }
        waiters.wake(upTo: update.version)
    }

    /// Waits until `version` is kept (or fails when it is no longer kept).
    private func awaitVersion(_ version: Int, for what: String) async throws -> WeightsUpdate {
        if history.isEmpty { keep(try await trainerWeights()) }
        while history[version] == nil {
            let newest = history.keys.max() ?? 0
            guard version > newest else {
                throw RoleError(.failed, "actor: asked to \(what) with policy version \(version), which is no longer kept (versions \(history.keys.sorted().map(String.init).joined(separator: ", ")) are)")
            }
            guard !stopped else { throw RoleError(.unavailable, "actor: stopped") }
            do {
                try await withCheckedThrowingContinuation { waiters.add(version, $0) }
            } catch {
                throw RoleError(.unavailable, "actor: stopped while a request for policy version \(version) waited")
            }
        }
        return history[version]!
    }

    /// Chunk `chunk` of version `version`'s weights, once that version is trained.
    private func weightsChunk(version: Int, chunk: Int) async throws -> WeightsChunk {
        let t0 = ContinuousClock.now
        let update = try await awaitVersion(version, for: "send weights")
        let waited = ContinuousClock.now - t0
        let total = update.values.count, size = WeightsChunk.chunkValues
        let count = max(1, (total + size - 1) / size)
        guard (0..<count).contains(chunk) else {
            throw RoleError(.badInput, "actor: weights of version \(version) come in \(count) chunks; there is no chunk \(chunk)")
        }
        let range = (chunk * size)..<min(total, (chunk + 1) * size)
        var reply = WeightsChunk(version: version, index: chunk, count: count, total: total, adaptersOnly: update.adaptersOnly,
                                 checksum: update.checksum, values: Array(update.values[range]))
        reply.waitedSeconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
        return reply
    }

    /// Waits until version `version` exists, then, in one job on the generator's thread, loads
    /// it (unless already held) and generates.
    private func generate(_ request: RoleRequest, version: Int, on generator: RoleWorker) async throws -> RoleReply {
        guard version >= generatorVersion else {
            throw RoleError(.failed, "actor: asked to generate with policy version \(version), older than the version \(generatorVersion) the generator already holds; versions are asked for in order")
        }
        let update = version == generatorVersion ? nil : try await awaitVersion(version, for: "generate")
        if update != nil { generatorVersion = version }
        return try await generator.withLogic { logic in
            guard let g = logic as? GeneratorLogic else { throw RoleError(.failed, "actor: the generator worker holds no generator") }
            if let update { try g.apply(update) }
            return try g.handle(request)
        }
    }

    /// The trainer's weights of its current version.
    private func trainerWeights() async throws -> WeightsUpdate {
        try await trainer.withLogic { try Self.trainerLogic($0).weights() }
    }

    private static func trainerLogic(_ logic: any RoleLogic) throws -> PolicyTrainerLogic {
        guard let t = logic as? PolicyTrainerLogic else { throw RoleError(.failed, "actor: the trainer worker holds no trainer") }
        return t
    }

    public func stop() async {
        stopped = true
        waiters.failAll(RoleError(.unavailable, "actor: stopped"))
        await generator?.stop()
        await trainer.stop()
    }
}
