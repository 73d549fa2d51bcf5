/// Decides β, the coefficient of the KL penalty, from one iteration to the next. Its state is
/// the coefficient alone, so saving `value` in a checkpoint and restoring it resumes exactly.
public protocol KLController: Sendable {
    /// β for the next batch of experiences.
    var value: Double { get }
    /// Takes the KL measured on the last batch into account.
    /// - Parameters:
    ///   - currentKL: the batch mean of each response's summed per-token KL (nats per sequence,
    ///     what `target` is measured in).
    ///   - steps: how many responses that batch held (trl passes its batch size).
    mutating func update(currentKL: Double, steps: Int)
}

/// A constant β (DeepSpeed-Chat's `kl_ctl = 0.1`, trl's `FixedKLController`).
public struct FixedKLController: KLController, Equatable, Codable {
    public var value: Double

    public init(value: Double) { self.value = value }

    public mutating func update(currentKL: Double, steps: Int) {}
}

/// Ziegler et al. 2019 (arXiv 1909.08593) Sec. 2.2: β moves towards the value that keeps the KL
/// near `target`, by a proportional controller,
/// `e = clip(KL / target - 1, -0.2, 0.2)`, `β ← β (1 + e · steps / horizon)`,
/// as OpenAI's lm-human-preferences and trl's `AdaptiveKLController` write it.
public struct AdaptiveKLController: KLController, Equatable, Codable {
    public var value: Double
    /// The KL per sequence to hold (trl's `target = 6`).
    public var target: Double
    /// How many responses the correction is spread over (trl's `horizon = 10000`).
    public var horizon: Double

    public init(initialValue: Double, target: Double, horizon: Double) {
        value = initialValue
        self.target = target
        self.horizon = horizon
    }

    public mutating func update(currentKL: Double, steps: Int) {
        let error = min(max(currentKL / target - 1, -0.2), 0.2)
        value *= 1 + error * Double(steps) / horizon
    }
}

extension RLAlgorithmConfig {
    /// The controller these settings ask for: adaptive from `kl_coef` towards `target_kl` over
    /// `kl_horizon` when `adaptive_kl`, otherwise `kl_coef` throughout.
    public func makeKLController() -> any KLController {
        adaptiveKL
            ? AdaptiveKLController(initialValue: klCoef, target: targetKL, horizon: klHorizon)
            : FixedKLController(value: klCoef)
    }
}
