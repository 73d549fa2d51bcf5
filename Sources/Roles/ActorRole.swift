/// The actor role: a generator and a trainer, each on its own thread with its own copy of the
/// weights, so generating the next batch overlaps training on the last one.
///
/// After each update the trainer's new weights (only the adapters under LoRA) are kept here by
/// version; a `generate` request names the version it must use, waits until that version
/// exists, and the generator loads exactly it before sampling. With `max_staleness` s the
/// generator runs up to s versions behind the trainer, so up to s + 1 versions are kept; which
/// weights answer which batch is fixed by the schedule, never by timing. Evaluation answers
/// (`answer`) come from the trainer, which holds exactly the version they name.
public actor ActorRole: RoleHandler {
    let generator: RoleWorker
    let trainer: RoleWorker
    /// The version the generator holds.
    private var generatorVersion = 0
    /// Versions the trainer made that the generator has not loaded yet.
    private var published: [Int: WeightsUpdate] = [:]
    private var waiters = VersionWaiters()
    private var stopped = false

    public init(generator: RoleWorker, trainer: RoleWorker) {
        self.generator = generator
        self.trainer = trainer
    }

    public func handle(_ request: RoleRequest) async -> Result<RoleReply, RoleError> {
        switch request {
        case .generate(let r):
            return await generate(request, version: r.policyVersion)
        case .trainPolicy:
            let result = await trainer.handle(request)
            if case .success = result {
                do {
                    let update = try await trainerWeights()
                    published[update.version] = update
                    waiters.wake(upTo: update.version)
                } catch {
                    return .failure(error as? RoleError ?? RoleError(.failed, "actor: \(error)"))
                }
            }
            return result
        case .restore:
            let result = await trainer.handle(request)
            if case .success = result {
                // The restored version replaces everything: the generator loads it now.
                do {
                    let update = try await trainerWeights()
                    try await generator.withLogic { try Self.generatorLogic($0).apply(update) }
                    published = [:]
                    generatorVersion = update.version
                    waiters.wake(upTo: update.version)
                } catch {
                    return .failure(error as? RoleError ?? RoleError(.failed, "actor: \(error)"))
                }
            }
            return result
        default:
            return await trainer.handle(request)
        }
    }

    /// Waits until version `version` exists, then, in one job on the generator's thread, loads
    /// it (unless already held) and generates.
    private func generate(_ request: RoleRequest, version: Int) async -> Result<RoleReply, RoleError> {
        guard version >= generatorVersion else {
            return .failure(RoleError(.failed, "actor: asked to generate with policy version \(version), older than the version \(generatorVersion) the generator already holds; versions are asked for in order"))
        }
        while version != generatorVersion, published[version] == nil {
            guard !stopped else { return .failure(RoleError(.unavailable, "actor: stopped")) }
            do {
                try await withCheckedThrowingContinuation { waiters.add(version, $0) }
            } catch {
                return .failure(RoleError(.unavailable, "actor: stopped while generation by policy version \(version) waited"))
            }
        }
        let update = version == generatorVersion ? nil : published[version]
        if update != nil {
            // Older versions will never be asked for again.
            generatorVersion = version
            published = published.filter { $0.key > version }
        }
        do {
            return .success(try await generator.withLogic { logic in
                let g = try Self.generatorLogic(logic)
                if let update { try g.apply(update) }
                return try g.handle(request)
            })
        } catch {
            return .failure(error as? RoleError ?? RoleError(.failed, "actor: \(error)"))
        }
    }

    /// The trainer's weights of its current version.
    private func trainerWeights() async throws -> WeightsUpdate {
        try await trainer.withLogic { logic in
            guard let t = logic as? PolicyTrainerLogic else { throw RoleError(.failed, "actor: the trainer worker holds no trainer") }
            return t.weights()
        }
    }

    private static func generatorLogic(_ logic: any RoleLogic) throws -> GeneratorLogic {
        guard let g = logic as? GeneratorLogic else { throw RoleError(.failed, "actor: the generator worker holds no generator") }
        return g
    }

    public func stop() async {
        stopped = true
        waiters.failAll(RoleError(.unavailable, "actor: stopped"))
        await generator.stop()
        await trainer.stop()
    }
}
