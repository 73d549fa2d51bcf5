/// What the experience buffer derives from a scored batch: the per-token rewards (the score and
/// the KL penalty), the advantages and the critic's returns. The formulas are in `Advantages`.
extension ExperienceBatch {
    /// Fills `rewards`, `klRewards`, `advantages` and `returns` from `logProbs`, `refLogProbs`,
    /// `values` and `scores`.
    ///
    /// - ppo: reward_j = -β KL_j, plus the clipped score at the last response token
    ///   (DeepSpeed-Chat `compute_rewards`); GAE over the rewards and the critic's values.
    /// - rloo: the same per-token rewards, with the raw score (clipped only when `reward_clip` is
    ///   set for RLOO), summed per response: `score - β Σ_j KL_j`; the advantage is that sum minus
    ///   the mean of the other responses to the same prompt, on every token.
    /// - grpo: the score's advantage relative to its group (mean, and std when `scale_rewards`),
    ///   on every token; the KL is a term of the loss instead of the reward.
    /// A response that never ended first loses `missing_eos_penalty` from its score.
    /// - Parameter klCoef: β now (the adaptive controller's value, or the configured one).
    public mutating func computeAdvantages(config: RLAlgorithmConfig, klCoef: Double) {
        let R = responseWidth
        let mask = self.mask
        let penalised = Advantages.penalizeMissingEOS(scores: scores, ended: ended.map { $0 != 0 }, penalty: config.missingEOSPenalty)
        switch config.algorithm {
        case .ppo:
            let shaped = Advantages.klShapedRewards(scores: penalised, logProbs: logProbs, refLogProbs: refLogProbs, mask: mask,
                                                    B: B, T: R, klCoef: klCoef, estimator: config.klEstimator,
                                                    rewardClip: config.rewardClip)
            rewards = shaped.rewards
            klRewards = shaped.klPart
            let gae = Advantages.gae(rewards: rewards, values: values, mask: mask, B: B, T: R,
                                     gamma: config.gamma, lambda: config.lambda)
            advantages = config.whitenAdvantages ? Advantages.whiten(gae.advantages, mask: mask, shiftMean: true) : gae.advantages
            returns = gae.returns
        case .rloo:
            // trl's RLOOTrainer (trl/trainer/rloo_trainer.py, `_generate_and_score_completions`)
            // subtracts β Σ_t (log π_old - log π_ref) from the score as the reward model gave it;
            // its `reward_clip_range` is None unless asked for. Clipping here by PPO's default 5
            // flattened every score above 5, so RLOO's default `rewardClip` is nil.
            let shaped = Advantages.klShapedRewards(scores: penalised, logProbs: logProbs, refLogProbs: refLogProbs, mask: mask,
                                                    B: B, T: R, klCoef: klCoef, estimator: config.klEstimator,
                                                    rewardClip: config.rewardClip)
            rewards = shaped.rewards
            klRewards = shaped.klPart
            // Summed in Double from the score and the KL parts, so the total does not carry the
            // Float rounding of a large score added to the last token's KL.
            var totals = [Float](repeating: 0, count: B)
            for b in 0..<B where responseLengths[b] > 0 {
                var total = Double(shaped.scorePart[b])
                for j in 0..<R { total += Double(klRewards[b * R + j]) }
                totals[b] = Float(total)
            }
            let perSequence = Advantages.leaveOneOut(scores: totals, groupSize: groupSize)
            advantages = Advantages.broadcast(perSequence, mask: mask, T: R)
            if config.whitenAdvantages { advantages = Advantages.whiten(advantages, mask: mask, shiftMean: true) }
            returns = [Float](repeating: 0, count: B * R)
        case .grpo:
            rewards = [Float](repeating: 0, count: B * R)
            klRewards = rewards
            for b in 0..<B where responseLengths[b] > 0 {
                rewards[b * R + Int(responseLengths[b]) - 1] = penalised[b]
            }
            let perSequence = Advantages.groupRelative(scores: penalised, groupSize: groupSize, scaleByStd: config.scaleRewards)
            advantages = Advantages.broadcast(perSequence, mask: mask, T: R)
            returns = [Float](repeating: 0, count: B * R)
        }
    }

    /// Mean over real response tokens of KL(π_θold || π_ref) by `estimator` (what PPO logs as
    /// `kl`), summed per response then averaged over responses, as DeepSpeed-Chat and trl log it.
    public func meanSequenceKL(estimator: RLAlgorithmConfig.KLEstimator) -> Double {
        guard B > 0 else { return 0 }
        let kl = Advantages.kl(logProbs: logProbs, refLogProbs: refLogProbs, estimator: estimator)
        let R = responseWidth
        var total = 0.0
        for b in 0..<B { for j in 0..<Int(responseLengths[b]) { total += Double(kl[b * R + j]) } }
        return total / Double(B)
    }
}
