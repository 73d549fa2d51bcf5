import Foundation
import Model
import Tensor

/// The critic's side of PPO: per-token values V(s_j) for the experience buffer, and the clipped
/// value loss against the returns, one optimizer update per mini-batch. The critic starts from
/// the step-2 reward model (DeepSpeed-Chat's `critic_model_name_or_path`), its score head read at
/// every position.
public final class ValueTrainer {
    public let model: Llama
    public let trainable: any TrainableParameters
    public let config: RLAlgorithmConfig
    public let optimizer: OptimizerStep
    let padID: Int
    let pool: ActivationPool
    private var dvalues = FloatBuffer(count: 0)

    /// - Parameters:
    ///   - model: the critic, a model with a single-label score head.
    ///   - trainable: every weight of the critic (or its adapters).
    ///   - config: the algorithm's settings.
    ///   - padID: the padding id.
    ///   - totalUpdates: optimizer updates the run is planned for.
    public init(model: Llama, trainable: any TrainableParameters, config: RLAlgorithmConfig, padID: Int, totalUpdates: Int) {
        self.model = model
        self.trainable = trainable
        self.config = config
        self.padID = padID
        pool = ActivationPool(model: model)
        trainable.setTraining(false)
        optimizer = OptimizerStep(parameters: trainable, adam: AdamW.Hyperparameters(weightDecay: Float(config.weightDecay)),
                                  schedule: config.schedule(rate: config.criticLearningRate, totalUpdates: totalUpdates),
                                  maxGradNorm: config.maxGradNorm)
    }

    /// V(s_j) for every response token, (B, R): the value at the position that predicts token j.
    public func values(of batch: ExperienceBatch) throws -> [Float] {
        let mb = try batch.modelBatch(padID: padID, maxLength: model.config.maxPositionEmbeddings)
        let acts = pool.activations(B: mb.B, T: mb.T)
        model.forward(ids: mb.ids, acts: acts)
        let all = model.valuesForward(acts: acts)
        return all.withUnsafeBufferPointer { batch.gatherResponse($0.baseAddress!, T: mb.T) }
    }

    /// What one `update` did, as means over its mini-batches.
    public struct Statistics: Sendable {
        public var loss = 0.0
        public var clipFraction = 0.0
        public var gradNorm = 0.0
        public var learningRate = 0.0
        public var updates = 0
    }

    /// `ppo_epochs` passes in mini-batches, the clipped value loss, one update each.
    public func update(_ batch: ExperienceBatch) throws -> Statistics {
        var stats = Statistics()
        for rows in batch.miniBatches(size: config.miniBatchSize, epochs: config.ppoEpochs, shuffle: config.shuffleMiniBatches) {
            do {
                let mb = batch.selecting(rows: rows)
                let tokens = mb.responseTokenCount
                guard tokens > 0 else { continue }
                trainable.gradients.zero()
                let modelBatch = try mb.modelBatch(padID: padID, maxLength: model.config.maxPositionEmbeddings)
                let acts = pool.activations(B: modelBatch.B, T: modelBatch.T)
                let N = modelBatch.B * modelBatch.T
                if dvalues.count < N { dvalues = FloatBuffer(count: N) }
                model.forward(ids: modelBatch.ids, acts: acts)
                let all = model.valuesForward(acts: acts)
                let newValues = all.withUnsafeBufferPointer { mb.gatherResponse($0.baseAddress!, T: modelBatch.T) }
                let count = mb.B * mb.responseWidth
                var dResponse = [Float](repeating: 0, count: count)
                let result = Losses.ppoValue(dvalues: &dResponse, values: newValues, oldValues: mb.values, returns: mb.returns,
                                             mask: mb.mask, N: count, clip: config.valueClip, normalizer: Double(tokens))
                mb.scatterResponse(dResponse, into: dvalues.pointer, T: modelBatch.T)
                model.valuesBackward(dvalues: dvalues.pointer, acts: acts)
                model.backward(acts: acts)
                let step = optimizer.apply()
                stats.loss += result.loss
                stats.clipFraction += Double(result.clippedTokens) / Double(tokens)
                stats.gradNorm += step.gradNorm
                stats.learningRate = step.learningRate
                stats.updates += 1
            }
        }
        if stats.updates > 0 {
            let n = Double(stats.updates)
            stats.loss /= n; stats.clipFraction /= n; stats.gradNorm /= n
        }
        return stats
    }
}
