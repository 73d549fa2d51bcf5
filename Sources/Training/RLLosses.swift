import Foundation

/// The losses of step 3 (PPO's policy and value losses, GRPO's policy loss), in the convention of
/// `Losses`: each is a sum over the micro-batch's real response tokens divided by `normalizer`,
/// Z = the real response tokens of the whole optimizer step (all its micro-batches), so summing
/// the micro-batches' losses and gradients gives the step's, however it is split. (DeepSpeed-Chat
/// divides by `mask.sum()` of its one micro-batch; with one micro-batch per step the two agree.)
///
/// Inputs are flat over N = B * T response positions; `mask` is 1 at real response tokens. The
/// gradient is written (not added) at every position, 0 where the mask is 0.
extension Losses {
    // MARK: - Policy

    /// What a policy loss gives back for a micro-batch; sums and counts so the caller can add
    /// micro-batches up and divide by the step's token count once.
    public struct PolicyLossStats: Sendable, Equatable {
        /// This micro-batch's share of the loss (the KL term included for GRPO).
        public var loss: Double = 0
        /// Real tokens counted.
        public var tokens = 0
        /// Tokens whose clipped term won the max, so they get no gradient (trl's `pg_clipfrac`).
        public var clippedTokens = 0
        /// Σ (log π_old - log π_θ): k1 of KL(π_old || π_θ) (trl's `policykl`).
        public var policyKLSum: Double = 0
        /// Σ ½ (log π_θ - log π_old)²: the k2 estimate trl logs as `approxkl`.
        public var approxKLSum: Double = 0
        /// Σ r, min r and max r of the ratio r = π_θ / π_old.
        public var ratioSum: Double = 0
        public var ratioMin = Double.infinity
        public var ratioMax = -Double.infinity
        /// GRPO: Σ k3 KL(π_θ || π_ref) over the tokens (its unweighted penalty); 0 for PPO.
        public var referenceKLSum: Double = 0

        public init() {}

        /// Adds another micro-batch's figures to these.
        public mutating func merge(_ other: PolicyLossStats) {
            loss += other.loss
            tokens += other.tokens
            clippedTokens += other.clippedTokens
            policyKLSum += other.policyKLSum
            approxKLSum += other.approxKLSum
            ratioSum += other.ratioSum
            ratioMin = min(ratioMin, other.ratioMin)
            ratioMax = max(ratioMax, other.ratioMax)
            referenceKLSum += other.referenceKLSum
        }
    }

    /// PPO's clipped surrogate (Schulman et al. 2017, arXiv 1707.06347 Eq. 7, negated to a loss;
    /// InstructGPT arXiv 2203.02155; DeepSpeed-Chat `actor_loss_fn`), per token:
    /// `ℓ_t = max(-A_t r_t, -A_t clip(r_t, 1-ε, 1+ε))`, `r_t = exp(log π_θ - log π_old)`,
    /// `L = (1/Z) Σ_t mask_t ℓ_t`.
    ///
    /// `dL/d log π_θ = -A_t r_t / Z` where the unclipped term is the max; 0 where the clipped term
    /// is strictly larger (r is then outside [1-ε, 1+ε], where clip is flat).
    /// - Parameters:
    ///   - dlogprobs: (N) written: d L / d log π_θ.
    ///   - logProbs: (N) log π_θ of each sampled token under the policy being trained.
    ///   - oldLogProbs: (N) log π_old, the policy that generated the experience.
    ///   - advantages: (N) A_t (GAE, or a group advantage broadcast over the response).
    ///   - mask: (N) 1 at real response tokens.
    ///   - clip: ε (DeepSpeed-Chat `cliprange`, trl `epsilon`).
    ///   - normalizer: Z, the real response tokens of the whole optimizer step.
    public static func ppoPolicy(
        dlogprobs: UnsafeMutablePointer<Float>, logProbs: UnsafePointer<Float>, oldLogProbs: UnsafePointer<Float>,
        advantages: UnsafePointer<Float>, mask: UnsafePointer<Float>, N: Int, clip: Double, normalizer: Double
    ) -> PolicyLossStats {
        var stats = PolicyLossStats()
        for n in 0..<N {
            guard mask[n] != 0 else {
                dlogprobs[n] = 0
                continue
            }
            let term = clippedSurrogate(logProb: Double(logProbs[n]), oldLogProb: Double(oldLogProbs[n]),
                                        advantage: Double(advantages[n]), clip: clip, stats: &stats)
            stats.loss += term.loss / normalizer
            dlogprobs[n] = Float(term.gradient / normalizer)
        }
        return stats
    }

    /// GRPO's loss (Shao et al. 2024, arXiv 2402.03300 Eq. 3, negated), per token: PPO's clipped
    /// surrogate with the group advantage plus β times the k3 estimate of KL(π_θ || π_ref)
    /// (Eq. 4), as trl's GRPOTrainer:
    /// `ℓ_t = max(-A r_t, -A clip(r_t, 1-ε, 1+ε)) + β (π_ref/π_θ - log(π_ref/π_θ) - 1)`,
    /// `L = (1/Z) Σ_t mask_t ℓ_t`.
    ///
    /// The gradient adds `β (1 - π_ref/π_θ) / Z`, the derivative of k3 with respect to log π_θ.
    /// Eq. 3 averages each response's tokens, then the group; dividing by the step's token count
    /// instead is DAPO's token-level normalisation (arXiv 2503.14476), trl's `loss_type` "dapo" /
    /// "bnpo", which does not favour short answers.
    /// - Parameters:
    ///   - refLogProbs: (N) log π_ref of each sampled token.
    ///   - beta: β (DeepSeekMath's 0.04).
    ///   - other parameters: as `ppoPolicy`.
    public static func grpoPolicy(
        dlogprobs: UnsafeMutablePointer<Float>, logProbs: UnsafePointer<Float>, oldLogProbs: UnsafePointer<Float>,
        refLogProbs: UnsafePointer<Float>, advantages: UnsafePointer<Float>, mask: UnsafePointer<Float>, N: Int,
        clip: Double, beta: Double, normalizer: Double
    ) -> PolicyLossStats {
        var stats = PolicyLossStats()
        for n in 0..<N {
            guard mask[n] != 0 else {
                dlogprobs[n] = 0
                continue
            }
            let logProb = Double(logProbs[n]), refLogProb = Double(refLogProbs[n])
            let term = clippedSurrogate(logProb: logProb, oldLogProb: Double(oldLogProbs[n]),
                                        advantage: Double(advantages[n]), clip: clip, stats: &stats)
            let kl = Advantages.klValue(logProb: logProb, refLogProb: refLogProb, estimator: .k3)
            let dkl = Advantages.klGradient(logProb: logProb, refLogProb: refLogProb, estimator: .k3)
            stats.referenceKLSum += kl
            stats.loss += (term.loss + beta * kl) / normalizer
            dlogprobs[n] = Float((term.gradient + beta * dkl) / normalizer)
        }
        return stats
    }

    /// One token of the clipped surrogate: its loss, its gradient with respect to log π_θ (both
    /// before dividing by Z), and its contribution to the statistics.
    private static func clippedSurrogate(
        logProb: Double, oldLogProb: Double, advantage a: Double, clip: Double, stats: inout PolicyLossStats
    ) -> (loss: Double, gradient: Double) {
        let logRatio = logProb - oldLogProb
        let ratio = exp(logRatio)
        let unclipped = -a * ratio
        let clipped = -a * min(max(ratio, 1 - clip), 1 + clip)
        stats.tokens += 1
        stats.policyKLSum -= logRatio
        stats.approxKLSum += 0.5 * logRatio * logRatio
        stats.ratioSum += ratio
        stats.ratioMin = min(stats.ratioMin, ratio)
        stats.ratioMax = max(stats.ratioMax, ratio)
        if clipped > unclipped {
            stats.clippedTokens += 1
            return (clipped, 0)
        }
        return (unclipped, unclipped)  // d(-A e^{logRatio}) / d logProb = -A r
    }

    // MARK: - Value

    /// What the value loss gives back for a micro-batch.
    public struct ValueLossStats: Sendable, Equatable {
        /// This micro-batch's share of the loss.
        public var loss: Double = 0
        /// Real tokens counted.
        public var tokens = 0
        /// Tokens whose clipped error won the max, so they get no gradient (trl's `vf_clipfrac`).
        public var clippedTokens = 0
        /// Σ (V - R)² (unclipped), for the critic's mean squared error.
        public var squaredErrorSum: Double = 0
        /// Σ V, the mean predicted value once divided by `tokens`.
        public var valueSum: Double = 0

        public init() {}

        /// Adds another micro-batch's figures to these.
        public mutating func merge(_ other: ValueLossStats) {
            loss += other.loss
            tokens += other.tokens
            clippedTokens += other.clippedTokens
            squaredErrorSum += other.squaredErrorSum
            valueSum += other.valueSum
        }
    }

    /// PPO's clipped value loss (DeepSpeed-Chat `critic_loss_fn`, after OpenAI baselines' ppo2),
    /// per token: `ℓ_t = ½ max((V_t - R_t)², (clip(V_t, V_old - ε, V_old + ε) - R_t)²)`,
    /// `L = (1/Z) Σ_t mask_t ℓ_t`.
    ///
    /// `dL/dV_t = (V_t - R_t) / Z` where the unclipped error is the max; 0 where the clipped one is
    /// strictly larger (V is then outside the band, where clip is flat).
    /// - Parameters:
    ///   - dvalues: (N) written: d L / d V.
    ///   - values: (N) V_t from the critic being trained.
    ///   - oldValues: (N) V_old, the critic's values when the experience was made.
    ///   - returns: (N) R_t, GAE's returns.
    ///   - clip: ε (DeepSpeed-Chat `cliprange_value`).
    ///   - normalizer: Z, the real response tokens of the whole optimizer step.
    public static func ppoValue(
        dvalues: UnsafeMutablePointer<Float>, values: UnsafePointer<Float>, oldValues: UnsafePointer<Float>,
        returns: UnsafePointer<Float>, mask: UnsafePointer<Float>, N: Int, clip: Double, normalizer: Double
    ) -> ValueLossStats {
        var stats = ValueLossStats()
        for n in 0..<N {
            guard mask[n] != 0 else {
                dvalues[n] = 0
                continue
            }
            let v = Double(values[n]), old = Double(oldValues[n]), r = Double(returns[n])
            let vClipped = min(max(v, old - clip), old + clip)
            let unclipped = (v - r) * (v - r)
            let clipped = (vClipped - r) * (vClipped - r)
            stats.tokens += 1
            stats.squaredErrorSum += unclipped
            stats.valueSum += v
            if clipped > unclipped {
                stats.clippedTokens += 1
                stats.loss += 0.5 * clipped / normalizer
                dvalues[n] = 0
            } else {
                stats.loss += 0.5 * unclipped / normalizer
                dvalues[n] = Float((v - r) / normalizer)
            }
        }
        return stats
    }

    // MARK: - Pre-training mix (ptx)

    /// InstructGPT's PPO-ptx term (arXiv 2203.02155 Eq. 2): γ times the language-model loss on
    /// pre-training data, `L = -(γ/Z) Σ_n log p(targets[n])`. DeepSpeed-Chat steps the actor on
    /// `unsup_coef * loss` after each PPO step, with `unsup_coef = 27.8`.
    /// - Parameters:
    ///   - coefficient: γ.
    ///   - other parameters: as `languageModel`.
    public static func ptx(
        dlogprobs: UnsafeMutablePointer<Float>, logprobs: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        N: Int, coefficient: Double, normalizer: Double
    ) -> (loss: Double, targets: Int) {
        languageModel(dlogprobs: dlogprobs, logprobs: logprobs, targets: targets, N: N, normalizer: normalizer / coefficient)
    }
}
