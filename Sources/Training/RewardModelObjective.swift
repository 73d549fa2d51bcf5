import Datasets
import Foundation
import Model
import Tensor

/// rm: a model with a scalar head scored at the last real token of prompt + answer, trained with
/// the pairwise ranking loss so that the chosen answer scores above the rejected one.
public final class RewardModelObjective: TrainingObjective {
    public let stage = TrainingStage.rm
    public let model: Llama
    public let trainable: any TrainableParameters
    public let train: [PreferenceExample]
    public let eval: [PreferenceExample]
    let padID: Int
    let evalBatchSize: Int
    let companions: CompanionFiles
    let pool: ActivationPool

    /// - Parameters:
    ///   - model: a model with a single-label score head (see `Llama.makeRewardModel`).
    ///   - train: training pairs.
    ///   - eval: evaluation pairs (may be empty).
    ///   - padID: the padding id (also the model's `pad_token_id`).
    ///   - evalBatchSize: pairs per evaluation batch.
    ///   - companions: tokenizer and template files saved beside the model.
    ///   - trainable: what the optimizer updates; nil for every weight of the model.
    public init(model: Llama, train: [PreferenceExample], eval: [PreferenceExample], padID: Int, evalBatchSize: Int,
                companions: CompanionFiles,
                trainable: (any TrainableParameters)? = nil) {
        precondition(model.layout.head == .score(labels: 1), "a reward model needs a single-label score head")
        self.model = model
        self.trainable = trainable ?? FullParameters(model: model)
        self.train = train
        self.eval = eval
        self.padID = padID
        self.evalBatchSize = evalBatchSize
        self.companions = companions
        self.pool = ActivationPool(model: model)
    }

    public var trainExampleCount: Int { train.count }
    public var trainExampleLengths: [Int] { train.map(\.longerSequenceLength) }
    public var hasEvaluationData: Bool { !eval.isEmpty }

    public func accumulateGradients(microBatches: [[Int]], rng: inout SplitMix64) -> StepStatistics {
        var stats = StepStatistics()
        let normalizer = Double(microBatches.joined().count)
        for indices in microBatches {
            let pairs = indices.map { train[$0] }
            let batch = ModelBatch(Batch(preferences: pairs, padID: padID), maxLength: model.config.maxPositionEmbeddings)
            let acts = pool.activations(B: batch.B, T: batch.T)
            let B = pairs.count
            model.forward(ids: batch.ids, acts: acts)
            // Rows 0..<B are prompt + chosen, rows B..<2B prompt + rejected.
            let scores = model.scoreForward(lengths: batch.lengths, acts: acts)
            let result = Losses.pairwiseRanking(chosen: Array(scores[..<B]), rejected: Array(scores[B...]), normalizer: normalizer)
            model.scoreBackward(dscores: result.dChosen + result.dRejected, lengths: batch.lengths, acts: acts)
            model.backward(acts: acts)
            stats.loss += result.loss
            stats.tokens += batch.tokenCount
            stats.paddedTokens += batch.B * batch.T
            stats.add("accuracy", Double(result.correct) / Double(B), weight: Double(B))
            stats.add("margin", result.marginSum / Double(B), weight: Double(B))
        }
        return stats
    }

    public func evaluate() -> [String: Double] {
        guard hasEvaluationData else { return [:] }
        let scores = Evaluation.rewardScores(model: model, examples: eval, batchSize: evalBatchSize, padID: padID, pool: pool)
        let mean = { (x: [Float]) in x.reduce(0) { $0 + Double($1) } / Double(max(1, x.count)) }
        return ["eval_loss": scores.loss, "eval_accuracy": scores.accuracy, "eval_margin": scores.meanMargin,
                "eval_chosen_score": mean(scores.chosen), "eval_rejected_score": mean(scores.rejected)]
    }

    public func saveCompanionFiles(to directory: String) throws {
        try companions.save(to: directory)
    }
}
