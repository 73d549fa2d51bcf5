/// The actor role: a generator and a trainer, each on its own thread with its own copy of the
/// weights, so generating the next batch overlaps training on the last one. After each update
/// the trainer's new weights (only the adapters under LoRA) go to the generator, which switches
/// between batches; a request to generate with version v waits until the generator holds v.
public actor ActorRole: RoleHandler {
    let generator: RoleWorker
    let trainer: RoleWorker
    private var generatorVersion = 0
    private var waiters: [(version: Int, continuation: CheckedContinuation<Void, Never>)] = []

    public init(generator: RoleWorker, trainer: RoleWorker) {
        self.generator = generator
        self.trainer = trainer
    }

    public func handle(_ request: RoleRequest) async -> Result<RoleReply, RoleError> {
        switch request {
        case .generate(let r):
            await waitForVersion(r.policyVersion)
            return await generator.handle(request)
        case .answer:
            return await generator.handle(request)
        case .trainPolicy, .restore:
            let result = await trainer.handle(request)
            if case .success = result {
                do {
                    try await publishWeights()
                } catch {
                    return .failure(error as? RoleError ?? RoleError(.failed, "actor: \(error)"))
                }
            }
            return result
        default:
            return await trainer.handle(request)
        }
    }

    /// Hands the trainer's weights to the generator and wakes requests waiting for them.
    private func publishWeights() async throws {
        let update = try await trainer.withLogic { logic in
            guard let t = logic as? PolicyTrainerLogic else { throw RoleError(.failed, "actor: the trainer worker holds no trainer") }
            return t.weights()
        }
        try await generator.withLogic { logic in
            guard let g = logic as? GeneratorLogic else { throw RoleError(.failed, "actor: the generator worker holds no generator") }
            try g.apply(update)
        }
        generatorVersion = update.version
        let ready = waiters.filter { $0.version <= generatorVersion }
        waiters.removeAll { $0.version <= generatorVersion }
        for w in ready { w.continuation.resume() }
    }

    private func waitForVersion(_ version: Int) async {
        if version <= generatorVersion { return }
        await withCheckedContinuation { waiters.append((version, $0)) }
    }

    public func stop() async {
        for w in waiters { w.continuation.resume() }
        waiters.removeAll()
        await generator.stop()
        await trainer.stop()
    }
}
