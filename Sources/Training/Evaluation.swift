import Datasets
import Foundation
import Model

/// Forward-only passes over whole example sets, in file order and fixed batches, shared by the
/// trainers' evaluation and the `rlhf eval` commands.
public enum Evaluation {
    // MARK: - Language model

    /// Mean negative log-likelihood per target token, and the number of targets.
    /// `exp(loss)` is the perplexity.
    /// - Parameters:
    ///   - model: a causal LM.
    ///   - sequences: sequences with their loss masks.
    ///   - batchSize: sequences per forward pass.
    ///   - padID: the padding id.
    ///   - pool: activations to reuse (made for `model`'s configuration).
    public static func languageModelLoss(model: Llama, sequences: [TokenSequence], batchSize: Int, padID: Int,
                                         pool: ActivationPool) -> (loss: Double, targets: Int) {
        var total = 0.0, count = 0
        for start in stride(from: 0, to: sequences.count, by: batchSize) {
            let rows = Array(sequences[start..<min(start + batchSize, sequences.count)])
            let batch = modelBatch(rows, padID: padID, model: model)
            let acts = pool.scoringActivations(B: batch.B, T: batch.T)
            runLanguageModel(model, batch, acts)
            let lp = acts.logprobs.pointer
            for n in 0..<(batch.B * batch.T) where batch.targets[n] >= 0 {
                total -= Double(lp[n])
                count += 1
            }
        }
        return (count > 0 ? total / Double(count) : 0, count)
    }

    // MARK: - Reward model

    /// A reward model's scores on preference pairs.
    public struct RewardScores: Sendable {
        /// (pairs) r(x, y_chosen) and r(x, y_rejected).
        public var chosen: [Float], rejected: [Float]
        /// Pairs ranked right: r_chosen > r_rejected.
        public var accuracy: Double {
            chosen.isEmpty ? 0 : Double(zip(chosen, rejected).filter { $0 > $1 }.count) / Double(chosen.count)
        }
        /// Mean of r_chosen - r_rejected.
        public var meanMargin: Double {
            chosen.isEmpty ? 0 : zip(chosen, rejected).reduce(0) { $0 + Double($1.0) - Double($1.1) } / Double(chosen.count)
        }
        /// The pairwise loss, mean over pairs.
        public var loss: Double {
            Losses.pairwiseRanking(chosen: chosen, rejected: rejected, normalizer: Double(max(1, chosen.count))).loss
        }
    }

    /// Scores every pair with a reward model.
    /// - Parameters:
    ///   - model: a model with a single-label score head.
    ///   - examples: the pairs.
    ///   - batchSize: pairs per forward pass (2 × rows).
    ///   - padID: the padding id.
    ///   - pool: activations to reuse (made for `model`'s configuration; logits not needed).
    public static func rewardScores(model: Llama, examples: [PreferenceExample], batchSize: Int, padID: Int,
                                    pool: ActivationPool) -> RewardScores {
        var out = RewardScores(chosen: [], rejected: [])
        for start in stride(from: 0, to: examples.count, by: batchSize) {
            let rows = Array(examples[start..<min(start + batchSize, examples.count)])
            let batch = ModelBatch(Batch(preferences: rows, padID: padID), maxLength: model.config.maxPositionEmbeddings)
            let acts = pool.scoringActivations(B: batch.B, T: batch.T)
            model.forward(ids: batch.ids, acts: acts)
            let scores = model.scoreForward(lengths: batch.lengths, acts: acts)
            out.chosen += scores[..<rows.count]
            out.rejected += scores[rows.count...]
        }
        return out
    }

    // MARK: - Answer log-probabilities

    /// log π(answer | prompt) of both answers of every pair, summed over the answer's tokens
    /// (averaged with `average`, as IPO uses them).
    /// - Returns: (pairs) chosen and rejected log-probabilities.
    public static func answerLogProbs(model: Llama, examples: [PreferenceExample], average: Bool, batchSize: Int,
                                      padID: Int, pool: ActivationPool) -> (chosen: [Float], rejected: [Float]) {
        var chosen: [Float] = [], rejected: [Float] = []
        for start in stride(from: 0, to: examples.count, by: batchSize) {
            let rows = Array(examples[start..<min(start + batchSize, examples.count)])
            let batch = ModelBatch(Batch(preferences: rows, padID: padID), maxLength: model.config.maxPositionEmbeddings)
            let acts = pool.scoringActivations(B: batch.B, T: batch.T)
            runLanguageModel(model, batch, acts)
            let values = Losses.sequenceLogProbs(logprobs: acts.logprobs.pointer, targets: batch.targets, B: batch.B, T: batch.T,
                                                 average: average).values
            chosen += values[..<rows.count]
            rejected += values[rows.count...]
        }
        return (chosen, rejected)
    }

    // MARK: - Shared

    /// Causal-LM sequences as one padded batch.
    static func modelBatch(_ rows: [TokenSequence], padID: Int, model: Llama) -> ModelBatch {
        ModelBatch(Batch(sequences: rows.map(\.ids), lossMasks: rows.map(\.lossMask), padID: padID),
                   maxLength: model.config.maxPositionEmbeddings)
    }

    /// Decoder and LM head forward: log p(target) per position into `acts.logprobs`. The
    /// logits are made a chunk at a time and not kept (the backward makes them again), as the
    /// training benchmark does: a (B·T, V) matrix streamed through memory costs more.
    static func runLanguageModel(_ model: Llama, _ batch: ModelBatch, _ acts: TrainingActivations,
                                 embeddingNoise: Llama.EmbeddingNoise? = nil) {
        model.forward(ids: batch.ids, acts: acts, embeddingNoise: embeddingNoise, packing: batch.packing)
        model.languageModelForward(targets: batch.targets, acts: acts, keepLogits: false)
    }
}
