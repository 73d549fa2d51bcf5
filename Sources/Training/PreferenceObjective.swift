import Datasets
import Foundation
import Model
import Tensor

/// dpo: a policy trained against a frozen reference on preference pairs, with the DPO (sigmoid)
/// or IPO loss on the answers' log-probabilities.
///
/// The reference runs forward on each micro-batch before the policy, in the same activations
/// (their configurations are equal), so the second model costs memory for its weights only.
public final class PreferenceObjective: TrainingObjective {
    public let stage = TrainingStage.dpo
    public let policy: Llama
    public let reference: Llama
    public let trainable: any TrainableParameters
    public let train: [PreferenceExample]
    public let eval: [PreferenceExample]
    public let beta: Double
    public let lossType: Losses.PreferenceLossType
    let padID: Int
    let evalBatchSize: Int
    let companions: CompanionFiles
    let pool: ActivationPool
    private var dlogprobs = FloatBuffer(count: 0)

    /// - Parameters:
    ///   - policy: the causal LM to train.
    ///   - reference: the frozen reference, of the same configuration.
    ///   - train: training pairs.
    ///   - eval: evaluation pairs (may be empty).
    ///   - beta: DPO's β (IPO's τ).
    ///   - lossType: sigmoid (DPO) or ipo.
    ///   - padID: the padding id.
    ///   - evalBatchSize: pairs per evaluation batch.
    ///   - companions: tokenizer and template files saved beside the policy.
    ///   - trainable: what the optimizer updates; nil for every weight of the policy.
    public init(policy: Llama, reference: Llama, train: [PreferenceExample], eval: [PreferenceExample], beta: Double,
                lossType: Losses.PreferenceLossType, padID: Int, evalBatchSize: Int, companions: CompanionFiles,
                trainable: (any TrainableParameters)? = nil) {
        precondition(policy.config == reference.config, "policy and reference must have the same configuration")
        precondition(policy.layout.score == nil, "DPO trains a causal LM")
        self.policy = policy
        self.reference = reference
        self.trainable = trainable ?? FullParameters(model: policy)
        self.train = train
        self.eval = eval
        self.beta = beta
        self.lossType = lossType
        self.padID = padID
        self.evalBatchSize = evalBatchSize
        self.companions = companions
        self.pool = ActivationPool(model: policy)
    }

    public var trainExampleCount: Int { train.count }
    public var trainExampleLengths: [Int] { train.map(\.longerSequenceLength) }
    public var hasEvaluationData: Bool { !eval.isEmpty }
    /// IPO compares log-probabilities averaged over each answer's tokens, as trl does.
    var averagesLogProbs: Bool { lossType == .ipo }

    public func accumulateGradients(microBatches: [[Int]], rng: inout SplitMix64) -> StepStatistics {
        var stats = StepStatistics()
        let normalizer = Double(microBatches.joined().count)
        for indices in microBatches {
            let pairs = indices.map { train[$0] }
            let B = pairs.count
            let batch = ModelBatch(Batch(preferences: pairs, padID: padID), maxLength: policy.config.maxPositionEmbeddings)
            let acts = pool.activations(B: batch.B, T: batch.T)
            let N = batch.B * batch.T
            if dlogprobs.count < N { dlogprobs = FloatBuffer(count: N) }
            Evaluation.runLanguageModel(reference, batch, acts)
            let ref = Losses.sequenceLogProbs(logprobs: acts.logprobs.pointer, targets: batch.targets, B: batch.B, T: batch.T,
                                              average: averagesLogProbs)
            Evaluation.runLanguageModel(policy, batch, acts)
            let pol = Losses.sequenceLogProbs(logprobs: acts.logprobs.pointer, targets: batch.targets, B: batch.B, T: batch.T,
                                              average: averagesLogProbs)
            let result = Losses.preference(
                policyChosen: Array(pol.values[..<B]), policyRejected: Array(pol.values[B...]),
                referenceChosen: Array(ref.values[..<B]), referenceRejected: Array(ref.values[B...]),
                beta: beta, type: lossType, normalizer: normalizer)
            Losses.sequenceLogProbsBackward(dlogprobs: dlogprobs.pointer, dsequence: result.dChosen + result.dRejected,
                                            counts: pol.counts, targets: batch.targets, B: batch.B, T: batch.T,
                                            average: averagesLogProbs)
            policy.languageModelBackward(dlogprobs: dlogprobs.pointer, targets: batch.targets, acts: acts)
            policy.backward(acts: acts)
            stats.loss += result.loss
            stats.tokens += batch.tokenCount
            stats.paddedTokens += N
            PreferenceObjective.addRewardMetrics(result, chosenLogProbs: pol.values[..<B], rejectedLogProbs: pol.values[B...],
                                                 prefix: "", to: &stats)
        }
        return stats
    }

    public func evaluate() -> [String: Double] {
        guard hasEvaluationData else { return [:] }
        let p = Evaluation.answerLogProbs(model: policy, examples: eval, average: averagesLogProbs, batchSize: evalBatchSize,
                                          padID: padID, pool: pool)
        let r = Evaluation.answerLogProbs(model: reference, examples: eval, average: averagesLogProbs, batchSize: evalBatchSize,
                                          padID: padID, pool: pool)
        let result = Losses.preference(policyChosen: p.chosen, policyRejected: p.rejected, referenceChosen: r.chosen,
                                       referenceRejected: r.rejected, beta: beta, type: lossType, normalizer: Double(eval.count))
        var stats = StepStatistics()
        PreferenceObjective.addRewardMetrics(result, chosenLogProbs: p.chosen[...], rejectedLogProbs: p.rejected[...],
                                             prefix: "eval_", to: &stats)
        var out = stats.means
        out["eval_loss"] = result.loss
        return out
    }

    public func saveCompanionFiles(to directory: String) throws {
        try companions.save(to: directory)
    }

    /// trl's DPO metrics: mean implicit rewards of each answer, the fraction of pairs whose
    /// chosen reward is higher, their mean margin, and the answers' log-probabilities.
    static func addRewardMetrics(_ r: Losses.Preference, chosenLogProbs: ArraySlice<Float>, rejectedLogProbs: ArraySlice<Float>,
                                 prefix: String, to stats: inout StepStatistics) {
        let B = Double(r.chosenRewards.count)
        guard B > 0 else { return }
        func mean<S: Sequence>(_ x: S) -> Double where S.Element == Float { x.reduce(0) { $0 + Double($1) } / B }
        stats.add(prefix + "rewards/chosen", mean(r.chosenRewards), weight: B)
        stats.add(prefix + "rewards/rejected", mean(r.rejectedRewards), weight: B)
        stats.add(prefix + "rewards/accuracies", Double(zip(r.chosenRewards, r.rejectedRewards).filter { $0 > $1 }.count) / B, weight: B)
        stats.add(prefix + "rewards/margins", mean(zip(r.chosenRewards, r.rejectedRewards).map { $0 - $1 }), weight: B)
        stats.add(prefix + "logps/chosen", mean(chosenLogProbs), weight: B)
        stats.add(prefix + "logps/rejected", mean(rejectedLogProbs), weight: B)
    }
}
