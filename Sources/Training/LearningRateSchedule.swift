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
public struct LearningRateSchedule: Sendable, Equatable {
    /// The shapes of the curve, under transformers' `lr_scheduler_type` names.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case linear, cosine, constant
        case constantWithWarmup = "constant_with_warmup"
    }

    public var kind: Kind
    /// The peak rate.
    public var learningRate: Double
    /// Updates spent ramping up from 0.
    public var warmupSteps: Int
    /// Updates in the whole run.
    public var totalSteps: Int

    /// - Parameters:
    ///   - kind: the curve.
    ///   - learningRate: the peak rate.
    ///   - warmupSteps: updates of linear warmup.
    ///   - totalSteps: updates in the run.
    public init(kind: Kind, learningRate: Double, warmupSteps: Int, totalSteps: Int) {
        self.kind = kind
        self.learningRate = learningRate
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(1, totalSteps)
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
        let decaySteps = Double(max(1, totalSteps - warmupSteps))
        let progress = Double(step - warmupSteps) / decaySteps
        switch kind {
        case .linear: return max(0, 1 - progress)
        case .cosine: return max(0, 0.5 * (1 + cos(Double.pi * progress)))
        case .constant, .constantWithWarmup: return 1
        }
    }

    /// The learning rate of update `step` (0-based).
    public func learningRate(step: Int) -> Double { learningRate * factor(step: step) }
}
