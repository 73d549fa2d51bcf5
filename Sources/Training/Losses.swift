import Foundation

/// Every loss the trainers minimise, each with the equation it implements, returning the loss and
/// its gradient with respect to its inputs (per-token log-probabilities, per-sequence
/// log-probabilities, or scores); the model backpropagates from there.
///
/// Each loss is a sum over the examples of one micro-batch divided by `normalizer`, the number of
/// items (target tokens, or pairs) in the whole optimizer step. Summing the micro-batches'
/// losses and gradients therefore gives exactly the loss and gradient of the whole step, however
/// it is split for gradient accumulation (the fix transformers made in 4.46; dividing each
/// micro-batch by its own count would weight short micro-batches more).
public enum Losses {
    // MARK: - Causal language modelling (pt, sft)

    /// Negative log-likelihood of the target tokens:
    /// `L = -(1/Z) Σ_n log p(targets[n] | ids[..n])` over the n with `targets[n] >= 0`.
    /// - Parameters:
    ///   - dlogprobs: (N) written: `-1/Z` at counted targets, 0 elsewhere.
    ///   - logprobs: (N) log p(targets[n]) from the LM head.
    ///   - targets: (N) next-token ids; negative means not a target.
    ///   - N: rows.
    ///   - normalizer: Z, the target count of the whole optimizer step.
    /// - Returns: this micro-batch's share of the loss, and its number of targets.
    public static func languageModel(
        dlogprobs: UnsafeMutablePointer<Float>, logprobs: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        N: Int, normalizer: Double
    ) -> (loss: Double, targets: Int) {
        var total = 0.0
        var count = 0
        let g = Float(-1 / normalizer)
        for n in 0..<N {
            if targets[n] >= 0 {
                total -= Double(logprobs[n])
                count += 1
                dlogprobs[n] = g
            } else {
                dlogprobs[n] = 0
            }
        }
        return (total / normalizer, count)
    }

    // MARK: - Reward model

    /// What the pairwise loss gives back for a micro-batch.
    public struct Pairwise: Sendable {
        /// This micro-batch's share of the loss.
        public var loss: Double
        /// (B) d loss / d r_chosen and d loss / d r_rejected.
        public var dChosen: [Float], dRejected: [Float]
        /// Pairs with r_chosen > r_rejected.
        public var correct: Int
        /// Σ (r_chosen - r_rejected).
        public var marginSum: Double
    }

    /// The reward model's pairwise ranking loss, InstructGPT (arXiv 2203.02155) Eq. 1 with K = 2:
    /// `L = -(1/Z) Σ_b log σ(r_chosen[b] - r_rejected[b])`.
    ///
    /// `d L / d r_chosen = -σ(-(r_c - r_r)) / Z`, and the opposite for r_rejected.
    /// - Parameters:
    ///   - chosen: (B) scores of the preferred answers.
    ///   - rejected: (B) scores of the dispreferred answers.
    ///   - normalizer: Z, the number of pairs in the whole optimizer step.
    public static func pairwiseRanking(chosen: [Float], rejected: [Float], normalizer: Double) -> Pairwise {
        precondition(chosen.count == rejected.count, "one rejected score per chosen score")
        var out = Pairwise(loss: 0, dChosen: [], dRejected: [], correct: 0, marginSum: 0)
        for b in chosen.indices {
            let margin = Double(chosen[b]) - Double(rejected[b])
            out.loss += negativeLogSigmoid(margin) / normalizer
            let g = Float(-sigmoid(-margin) / normalizer)
            out.dChosen.append(g)
            out.dRejected.append(-g)
            if margin > 0 { out.correct += 1 }
            out.marginSum += margin
        }
        return out
    }

    // MARK: - DPO and IPO

    /// The preference losses that need no reward model.
    public enum PreferenceLossType: String, Sendable, Codable, CaseIterable {
        /// DPO, Rafailov et al. (arXiv 2305.18290) Eq. 7.
        case sigmoid
        /// IPO, Azar et al. (arXiv 2310.12036) Eq. 17.
        case ipo
    }

    /// What a DPO or IPO loss gives back for a micro-batch.
    public struct Preference: Sendable {
        /// This micro-batch's share of the loss.
        public var loss: Double
        /// (B) d loss / d log π_θ(y_w|x) and d loss / d log π_θ(y_l|x).
        public var dChosen: [Float], dRejected: [Float]
        /// (B) implicit rewards β (log π_θ(y|x) - log π_ref(y|x)) of each answer, as trl logs them.
        public var chosenRewards: [Float], rejectedRewards: [Float]
    }

    /// DPO (sigmoid) or IPO loss over a micro-batch. With the log-ratio difference
    /// `h = (log π_θ(y_w|x) - log π_ref(y_w|x)) - (log π_θ(y_l|x) - log π_ref(y_l|x))`:
    ///
    /// - sigmoid, arXiv 2305.18290 Eq. 7: `L = -(1/Z) Σ log σ(β h)`, `dL/dh = -β σ(-β h) / Z`;
    /// - ipo, arXiv 2310.12036 Eq. 17 with τ = β: `L = (1/Z) Σ (h - 1/(2β))²`,
    ///   `dL/dh = 2 (h - 1/(2β)) / Z`. trl feeds IPO log-probabilities averaged over each
    ///   answer's tokens; the trainer does the same and divides the gradient back.
    ///
    /// `dL/d log π_θ(y_w|x) = dL/dh` and `dL/d log π_θ(y_l|x) = -dL/dh`; the reference gets none.
    /// - Parameters:
    ///   - policyChosen: (B) log π_θ(y_w|x), summed over the answer's tokens (averaged for IPO).
    ///   - policyRejected: (B) log π_θ(y_l|x).
    ///   - referenceChosen: (B) log π_ref(y_w|x).
    ///   - referenceRejected: (B) log π_ref(y_l|x).
    ///   - beta: β, how far the policy may move from the reference.
    ///   - type: sigmoid (DPO) or ipo.
    ///   - normalizer: Z, the number of pairs in the whole optimizer step.
    public static func preference(
        policyChosen: [Float], policyRejected: [Float], referenceChosen: [Float], referenceRejected: [Float],
        beta: Double, type: PreferenceLossType, normalizer: Double
    ) -> Preference {
        let B = policyChosen.count
        precondition([policyRejected.count, referenceChosen.count, referenceRejected.count].allSatisfy { $0 == B },
                     "four log-probabilities per pair")
        var out = Preference(loss: 0, dChosen: [], dRejected: [], chosenRewards: [], rejectedRewards: [])
        for b in 0..<B {
            let chosenRatio = Double(policyChosen[b]) - Double(referenceChosen[b])
            let rejectedRatio = Double(policyRejected[b]) - Double(referenceRejected[b])
            let h = chosenRatio - rejectedRatio
            let dh: Double
            switch type {
            case .sigmoid:
                out.loss += negativeLogSigmoid(beta * h) / normalizer
                dh = -beta * sigmoid(-beta * h) / normalizer
            case .ipo:
                let d = h - 1 / (2 * beta)
                out.loss += d * d / normalizer
                dh = 2 * d / normalizer
            }
            out.dChosen.append(Float(dh))
            out.dRejected.append(Float(-dh))
            out.chosenRewards.append(Float(beta * chosenRatio))
            out.rejectedRewards.append(Float(beta * rejectedRatio))
        }
        return out
    }

    // MARK: - Per-sequence log-probabilities

    /// `Σ_t logprobs[b, t]` over each row's targets: log π(answer | prompt) when only the
    /// answer's tokens are targets. With `average`, divided by the row's target count.
    /// - Parameters:
    ///   - logprobs: (B, T), 0 where the target is ignored.
    ///   - targets: (B, T), negative where ignored.
    /// - Returns: (B) the sums (or means) and (B) the target counts.
    public static func sequenceLogProbs(
        logprobs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, B: Int, T: Int, average: Bool
    ) -> (values: [Float], counts: [Int]) {
        var values: [Float] = [], counts: [Int] = []
        for b in 0..<B {
            var s = 0.0
            var count = 0
            for t in 0..<T where targets[b * T + t] >= 0 {
                s += Double(logprobs[b * T + t])
                count += 1
            }
            counts.append(count)
            values.append(Float(average && count > 0 ? s / Double(count) : s))
        }
        return (values, counts)
    }

    /// The backward of `sequenceLogProbs`: each counted token of row b gets `dsequence[b]`
    /// (divided by the row's count when the sequence value was an average).
    /// - Parameters:
    ///   - dlogprobs: (B, T) written.
    ///   - dsequence: (B) gradient with respect to each row's value.
    ///   - counts: (B) the counts `sequenceLogProbs` returned.
    public static func sequenceLogProbsBackward(
        dlogprobs: UnsafeMutablePointer<Float>, dsequence: [Float], counts: [Int], targets: UnsafePointer<Int32>,
        B: Int, T: Int, average: Bool
    ) {
        for b in 0..<B {
            let g = average && counts[b] > 0 ? dsequence[b] / Float(counts[b]) : dsequence[b]
            for t in 0..<T { dlogprobs[b * T + t] = targets[b * T + t] >= 0 ? g : 0 }
        }
    }

    // MARK: - Helpers

    /// σ(x) = 1 / (1 + e^-x), without overflow for large |x|.
    public static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// -log σ(x) = log(1 + e^-x), computed without overflow or cancellation.
    public static func negativeLogSigmoid(_ x: Double) -> Double {
        x >= 0 ? log1p(exp(-x)) : -x + log1p(exp(x))
    }
}
