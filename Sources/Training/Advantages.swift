import Foundation

/// Estimators of KL(π_θ || π_ref) from tokens sampled from π_θ (the settings' enum, by its short name).
public typealias KLEstimator = RLAlgorithmConfig.KLEstimator

/// What step 3 computes from a batch of experiences before any gradient: per-token KL to the
/// reference, the KL-shaped rewards and GAE of PPO, and the group baselines of GRPO and RLOO.
///
/// Arrays are flat over (B, T) response positions, row-major: position t of row b is `b * T + t`,
/// and t is the t-th token of the response (the prompt is not in the grid). `mask` is 1 at a real
/// response token and 0 at padding; a row's real tokens are its masked-in positions in order.
/// Everything is computed in Double from the Float inputs and rounded once at the end, so the
/// results do not depend on summation order to Float precision.
public enum Advantages {
    // MARK: - KL to the reference

    /// One token's estimate of KL(π_θ || π_ref), with log r = log π_ref - log π_θ
    /// (Schulman, "Approximating KL divergence", 2020):
    /// - k1 = -log r (unbiased, may be negative; DeepSpeed-Chat's and InstructGPT's penalty);
    /// - k2 = ½ (log r)² (biased, low variance; trl's logged `approxkl`);
    /// - k3 = (r - 1) - log r (unbiased, never negative; GRPO, arXiv 2402.03300 Eq. 4).
    public static func klValue(logProb: Double, refLogProb: Double, estimator: KLEstimator) -> Double {
        let logR = refLogProb - logProb
        switch estimator {
        case .k1: return -logR
        case .k2: return 0.5 * logR * logR
        case .k3: return expm1(logR) - logR
        }
    }

    /// d klValue / d log π_θ, for a loss that backpropagates through the KL (GRPO):
    /// k1: 1; k2: -log r; k3: 1 - r.
    public static func klGradient(logProb: Double, refLogProb: Double, estimator: KLEstimator) -> Double {
        let logR = refLogProb - logProb
        switch estimator {
        case .k1: return 1
        case .k2: return -logR
        case .k3: return -expm1(logR)
        }
    }

    /// Per-token KL estimates, elementwise over any shape (padding included; mask it yourself).
    public static func kl(logProbs: [Float], refLogProbs: [Float], estimator: KLEstimator) -> [Float] {
        precondition(logProbs.count == refLogProbs.count, "one reference log-prob per log-prob")
        return zip(logProbs, refLogProbs).map {
            Float(klValue(logProb: Double($0), refLogProb: Double($1), estimator: estimator))
        }
    }

    /// (B) Σ_t KL_t over each row's real tokens: the sequence-level KL that the adaptive controller
    /// tracks and that trl's RLOO subtracts from the score.
    public static func sequenceKL(
        logProbs: [Float], refLogProbs: [Float], mask: [Float], B: Int, T: Int, estimator: KLEstimator
    ) -> [Float] {
        checkShapes([logProbs, refLogProbs, mask], B: B, T: T)
        return (0..<B).map { b in
            var s = 0.0
            for i in b * T..<(b + 1) * T where mask[i] != 0 {
                s += klValue(logProb: Double(logProbs[i]), refLogProb: Double(refLogProbs[i]), estimator: estimator)
            }
            return Float(s)
        }
    }

    // MARK: - PPO reward shaping (InstructGPT, DeepSpeed-Chat)

    /// Per-token rewards of PPO with the KL penalty folded in (InstructGPT arXiv 2203.02155 Eq. 2;
    /// DeepSpeed-Chat `compute_rewards`):
    /// `reward_t = -β KL_t` at every real response token, plus `clip(score, -c, c)` (the raw score
    /// when c is nil) at the row's last real token. A row without real tokens gets nothing.
    ///
    /// DeepSpeed-Chat adds the score one position past the last real token (its `ends` points
    /// right of the end, DeepSpeedExamples PR #672), where GAE still carries it back with
    /// γλ = 0.95; here it is at the last real token itself.
    /// - Parameters:
    ///   - scores: (B) the reward model's score of each response (after any missing-EOS penalty).
    ///   - logProbs, refLogProbs: (B, T) log π_θ_old and log π_ref of each sampled token.
    ///   - mask: (B, T) 1 at real response tokens.
    ///   - klCoef: β (DeepSpeed-Chat `kl_ctl`).
    ///   - rewardClip: c (DeepSpeed-Chat `clip_reward_value`), or nil for no clipping.
    /// - Returns: (B, T) the rewards; (B, T) their KL part `-β KL_t` (0 at padding); (B) the
    ///   scores as added, clipped when c is given (the score part).
    public static func klShapedRewards(
        scores: [Float], logProbs: [Float], refLogProbs: [Float], mask: [Float], B: Int, T: Int,
        klCoef: Double, estimator: KLEstimator, rewardClip: Double?
    ) -> (rewards: [Float], klPart: [Float], scorePart: [Float]) {
        precondition(scores.count == B, "one score per row")
        checkShapes([logProbs, refLogProbs, mask], B: B, T: T)
        var rewards = [Float](repeating: 0, count: B * T)
        var klPart = [Float](repeating: 0, count: B * T)
        var scorePart = [Float](repeating: 0, count: B)
        for b in 0..<B {
            var last = -1, lastKL = 0.0
            for i in b * T..<(b + 1) * T where mask[i] != 0 {
                lastKL = -klCoef * klValue(logProb: Double(logProbs[i]), refLogProb: Double(refLogProbs[i]), estimator: estimator)
                klPart[i] = Float(lastKL)
                rewards[i] = Float(lastKL)
                last = i
            }
            let score = rewardClip.map { min(max(Double(scores[b]), -$0), $0) } ?? Double(scores[b])
            scorePart[b] = Float(score)
            if last >= 0 { rewards[last] = Float(lastKL + score) }
        }
        return (rewards, klPart, scorePart)
    }

    /// trl's `missing_eos_penalty`: subtracts `penalty` from the score of every response that
    /// never produced a stop token (it ran into max_new_tokens). nil returns the scores unchanged.
    public static func penalizeMissingEOS(scores: [Float], ended: [Bool], penalty: Double?) -> [Float] {
        precondition(scores.count == ended.count, "one ended flag per score")
        guard let penalty else { return scores }
        return zip(scores, ended).map { $1 ? $0 : Float(Double($0) - penalty) }
    }

    // MARK: - Generalised advantage estimation

    /// GAE (Schulman et al. 2016, arXiv 1506.02438 Eq. 16) backwards over each row's real tokens,
    /// as DeepSpeed-Chat `get_advantages_and_returns` (after trlx):
    /// `δ_t = r_t + γ V_{t+1} - V_t`, `A_t = δ_t + γλ A_{t+1}`, `R_t = A_t + V_t`,
    /// with V and A zero past the row's last real token (DeepSpeed-Chat zeroes rewards and values
    /// after `ends`). Padding positions get 0 advantage and 0 return and are skipped, so t+1 is
    /// the next real token.
    /// - Parameters:
    ///   - rewards: (B, T) per-token rewards (`klShapedRewards`).
    ///   - values: (B, T) the critic's V(s_t) at the experience's generation.
    /// - Returns: (B, T) advantages and (B, T) returns, the critic's targets.
    public static func gae(
        rewards: [Float], values: [Float], mask: [Float], B: Int, T: Int, gamma: Double, lambda: Double
    ) -> (advantages: [Float], returns: [Float]) {
        checkShapes([rewards, values, mask], B: B, T: T)
        var advantages = [Float](repeating: 0, count: B * T)
        var returns = [Float](repeating: 0, count: B * T)
        for b in 0..<B {
            var nextValue = 0.0, lastGAE = 0.0
            for i in stride(from: (b + 1) * T - 1, through: b * T, by: -1) where mask[i] != 0 {
                let v = Double(values[i])
                let delta = Double(rewards[i]) + gamma * nextValue - v
                lastGAE = delta + gamma * lambda * lastGAE
                advantages[i] = Float(lastGAE)
                returns[i] = Float(lastGAE + v)
                nextValue = v
            }
        }
        return (advantages, returns)
    }

    // MARK: - Whitening

    /// trl's `masked_whiten`: `(x - mean) / sqrt(var + 1e-8)` with the mean and the unbiased
    /// (Bessel-corrected) variance over the masked-in entries; with `shiftMean == false` the mean
    /// is added back (only the scale changes). Masked-out entries are 0 (trl fills them after).
    /// With one masked-in entry the variance is taken as 0 (trl would raise); with none, all 0.
    public static func whiten(_ values: [Float], mask: [Float], shiftMean: Bool) -> [Float] {
        precondition(values.count == mask.count, "one mask entry per value")
        var count = 0, sum = 0.0
        for i in values.indices where mask[i] != 0 {
            count += 1
            sum += Double(values[i])
        }
        guard count > 0 else { return [Float](repeating: 0, count: values.count) }
        let mean = sum / Double(count)
        var squares = 0.0
        for i in values.indices where mask[i] != 0 {
            let d = Double(values[i]) - mean
            squares += d * d
        }
        let variance = count > 1 ? squares / Double(count - 1) : 0
        let scale = 1 / (variance + 1e-8).squareRoot()
        return values.indices.map { i in
            guard mask[i] != 0 else { return 0 }
            let w = (Double(values[i]) - mean) * scale
            return Float(shiftMean ? w : w + mean)
        }
    }

    // MARK: - Group baselines (no critic)

    /// GRPO's outcome advantages (arXiv 2402.03300 Sec. 4.1.2), as trl's GRPOTrainer: samples
    /// `g*G ..< (g+1)*G` answer one prompt; `A_i = r_i - mean(group)`, divided by
    /// `std(group) + 1e-4` when `scaleByStd` (trl `scale_rewards`). std is torch's default, the
    /// unbiased one (n - 1); a group of one has advantage 0.
    /// - Returns: (B) one advantage per response; `broadcast` spreads it over its tokens.
    public static func groupRelative(scores: [Float], groupSize: Int, scaleByStd: Bool) -> [Float] {
        precondition(groupSize >= 1 && scores.count % groupSize == 0, "whole groups of groupSize responses")
        var out = [Float](repeating: 0, count: scores.count)
        for start in stride(from: 0, to: scores.count, by: groupSize) {
            let group = scores[start..<start + groupSize].map(Double.init)
            let mean = group.reduce(0, +) / Double(groupSize)
            var std = 0.0
            if groupSize > 1 {
                std = (group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(groupSize - 1)).squareRoot()
            }
            for (k, r) in group.enumerated() {
                out[start + k] = Float(scaleByStd ? (r - mean) / (std + 1e-4) : r - mean)
            }
        }
        return out
    }

    /// RLOO's leave-one-out baseline (Ahmadian et al. 2024, arXiv 2402.14740, after Kool et al.
    /// 2019), as trl's RLOOTrainer: `A_i = r_i - (Σ_{j≠i} r_j) / (G - 1)` within each group.
    /// trl first subtracts β times the sequence's summed k1 KL from each raw score.
    /// A group of one has advantage 0.
    public static func leaveOneOut(scores: [Float], groupSize: Int) -> [Float] {
        precondition(groupSize >= 1 && scores.count % groupSize == 0, "whole groups of groupSize responses")
        var out = [Float](repeating: 0, count: scores.count)
        guard groupSize > 1 else { return out }
        for start in stride(from: 0, to: scores.count, by: groupSize) {
            let sum = scores[start..<start + groupSize].reduce(0.0) { $0 + Double($1) }
            for i in start..<start + groupSize {
                let r = Double(scores[i])
                out[i] = Float(r - (sum - r) / Double(groupSize - 1))
            }
        }
        return out
    }

    /// (B, T) each row's value at its real tokens and 0 at padding: a sequence-level advantage
    /// given to every token of its response (GRPO's outcome supervision, RLOO).
    public static func broadcast(_ perSequence: [Float], mask: [Float], T: Int) -> [Float] {
        precondition(mask.count == perSequence.count * T, "mask is (B, T)")
        return mask.indices.map { mask[$0] != 0 ? perSequence[$0 / T] : 0 }
    }

    // MARK: - Helpers

    private static func checkShapes(_ arrays: [[Float]], B: Int, T: Int) {
        precondition(arrays.allSatisfy { $0.count == B * T }, "(B, T) = (\(B), \(T)) arrays")
    }
}
