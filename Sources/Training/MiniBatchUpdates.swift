/// The loop both step-3 trainers run on a batch of experiences: `ppo_epochs` passes, each cut
/// into mini-batches (`ExperienceBatch.miniBatches`), one optimizer update per mini-batch, and
/// the figures of each update averaged over the updates.
enum MiniBatchUpdates {
    /// - Parameters:
    ///   - batch: the experiences.
    ///   - config: mini-batch size, passes, shuffling.
    ///   - optimizer: applied after each mini-batch's gradient.
    ///   - prefix: put before `grad_norm` and `lr` (`actor_`, `critic_`).
    ///   - accumulate: zeroed gradients in, the mini-batch's gradient added, its figures out
    ///     (named as logged); gets the mini-batch and its real response tokens.
    ///   - after: runs after each update (the actor's ptx update); its figures are averaged too.
    /// - Returns: each figure's mean over the updates, with `<prefix>grad_norm`, the last
    ///   `<prefix>lr` and `<prefix>updates`.
    static func run(_ batch: ExperienceBatch, config: RLAlgorithmConfig, optimizer: OptimizerStep, prefix: String,
                    accumulate: (ExperienceBatch, Int) throws -> [String: Double],
                    after: () -> [String: Double] = { [:] }) throws -> [String: Double] {
        var sums: [String: Double] = [:]
        var updates = 0, learningRate = 0.0
        for rows in batch.miniBatches(size: config.miniBatchSize, epochs: config.ppoEpochs, shuffle: config.shuffleMiniBatches) {
            let mb = batch.selecting(rows: rows)
            let tokens = mb.responseTokenCount
            guard tokens > 0 else { continue }
            optimizer.zeroGradients()
            var figures = try accumulate(mb, tokens)
            let step = optimizer.apply()
            figures[prefix + "grad_norm"] = step.gradNorm
            learningRate = step.learningRate
            for (k, v) in after() { figures[k] = v }
            for (k, v) in figures { sums[k, default: 0] += v }
            updates += 1
        }
        var means = sums.mapValues { $0 / Double(max(1, updates)) }
        means[prefix + "lr"] = learningRate
        means[prefix + "updates"] = Double(updates)
        return means
    }
}
