import Training

/// β for each batch, fixed by the schedule rather than by timing: batch i uses the controller's
/// value after the trainers consumed batch i - 1 - max_staleness, so a pipelined run computes
/// the same rewards every time. With a fixed coefficient every batch gets the same β.
actor KLCoefficients {
    private var values: [Int: Double] = [:]
    private var waiters: [Int: [CheckedContinuation<Double, Never>]] = [:]
    private let staleness: Int
    private var controller: (any KLController)?
    private var current: Double

    /// - Parameters:
    ///   - startValue: the controller's value (β after the last batch consumed).
    ///   - decided: β of the batches from `startIteration` on that were already decided when
    ///     the run was checkpointed; the rest up to `startIteration + max_staleness` get `startValue`.
    init(config: RLAlgorithmConfig, startIteration: Int, startValue: Double, decided: [Double] = []) {
        staleness = config.maxStaleness
        current = startValue
        controller = config.adaptiveKL ? AdaptiveKLController(initialValue: startValue, target: config.targetKL, horizon: config.klHorizon) : nil
        for i in startIteration...(startIteration + staleness) {
            let k = i - startIteration
            values[i] = k < decided.count ? decided[k] : startValue
        }
    }

    /// β of batches `from ... from + max_staleness`, those decided so far (for a checkpoint).
    func decided(from iteration: Int) -> [Double] {
        (iteration...(iteration + staleness)).compactMap { values[$0] }
    }

    /// β for the batch of `iteration`, waiting until it is decided.
    func value(for iteration: Int) async -> Double {
        if let v = values[iteration] { return v }
        return await withCheckedContinuation { waiters[iteration, default: []].append($0) }
    }

    /// After the trainers consumed `iteration`'s batch, whose mean KL was `kl` over `samples`.
    func consumed(iteration: Int, kl: Double, samples: Int) -> Double {
        if var c = controller {
            c.update(currentKL: kl, steps: samples)
            controller = c
            current = c.value
        }
        let next = iteration + 1 + staleness
        values[next] = current
        for w in waiters.removeValue(forKey: next) ?? [] { w.resume(returning: current) }
        return current
    }

    var now: Double { current }
}
