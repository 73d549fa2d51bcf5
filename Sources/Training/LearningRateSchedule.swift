import Foundation

/// The learning rate at each optimizer update, as transformers' `get_scheduler` computes it, so
/// a recipe moved from HF gives the same curve.
///
/// Update `s` (0-based: the number of updates already taken) uses `learningRate * factor(s)`:
/// - warmup, for `s < warmupSteps`: `s / warmupSteps` (so with warmup the first update has rate 0,
///   as in transformers);
/// - then, with `p = (s - warmupSteps) / (totalSteps - warmupSteps)`:
///   `linear` `1 - p`; `cosine` `(1 + cos(π p)) / 2`; `constant` and `constant_with_warmup` 1.
///   `constant` ignores warmup, as transformers' does.
/// - `warmup_stable_decay` (transformers' `get_wsd_schedule` with its default cosine decay and
///   `min_lr_ratio` 0): 1 until the last `decaySteps` updates, then, with
///   `d = (s - (totalSteps - decaySteps)) / decaySteps`, `(1 + cos(π d)) / 2`. A run at a
///   constant rate ends wherever its noise left it; decaying over the last stretch settles it.
public struct LearningRateSchedule: Sendable, Equatable {
    /// The shapes of the curve, under transformers' `lr_scheduler_type` names.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case linear, cosine, constant
        case constantWithWarmup = "constant_with_warmup"
        case warmupStableDecay = "warmup_stable_decay"
    }

    public var kind: Kind
    /// The peak rate.
    public var learningRate: Double
    /// Updates spent ramping up from 0.
    public var warmupSteps: Int
    /// Updates in the whole run.
    public var totalSteps: Int
    /// `warmup_stable_decay`: the last updates, over which the rate falls to 0.
    public var decaySteps: Int

    /// - Parameters:
    ///   - kind: the curve.
    ///   - learningRate: the peak rate.
    ///   - warmupSteps: updates of linear warmup.
    ///   - totalSteps: updates in the run.
    ///   - decayRatio: `warmup_stable_decay`'s decay as a fraction of the run (at least one
    ///     update, and never into the warmup); the other kinds ignore it.
    public init(kind: Kind, learningRate: Double, warmupSteps: Int, totalSteps: Int, decayRatio: Double = 0) {
        self.kind = kind
        self.learningRate = learningRate
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(1, totalSteps)
        let decay = Int((decayRatio * Double(self.totalSteps)).rounded(.up))
        decaySteps = max(1, min(decay, self.totalSteps - self.warmupSteps))
    }

    /// transformers' `get_warmup_steps`: `warmup_steps` when positive, else
    /// `ceil(warmup_ratio * total_steps)`.
    /// - Parameters:
    ///   - warmupSteps: the explicit count (0 for none).
    ///   - warmupRatio: the fraction of the run.
    ///   - totalSteps: updates in the run.
    public static func warmupSteps(steps warmupSteps: Int, ratio warmupRatio: Double, totalSteps: Int) -> Int {
        warmupSteps > 0 ? warmupSteps : Int((warmupRatio * Double(totalSteps)).rounded(.up))
    }

    /// The multiplier of `learningRate` for update `step` (0-based).
    public func factor(step: Int) -> Double {
        if kind == .constant { return 1 }
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        switch kind {
        case .linear: return max(0, 1 - progress)
        case .cosine: return max(0, 0.5 * (1 + cos(Double.pi * progress)))
        case .constant, .constantWithWarmup: return 1
        case .warmupStableDecay:
            let stableEnd = totalSteps - decaySteps
            if step < stableEnd { return 1 }
            let d = min(1, Double(step - stableEnd) / Double(decaySteps))
            return max(0, 0.5 * (1 + cos(Double.pi * d)))
        }
    }

    /// The learning rate of update `step` (0-based).
    public func learningRate(step: Int) -> Double { learningRate * factor(step: step) }
}
