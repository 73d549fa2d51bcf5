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
        optimizer = config.optimizer(for: trainable, rate: config.criticLearningRate, totalUpdates: totalUpdates)
    }

    /// V(s_j) for every response token, (B, R): the value at the position that predicts token j.
    public func values(of batch: ExperienceBatch) throws -> [Float] {
        let layout = try batch.responseLayout(padID: padID, maxLength: model.config.maxPositionEmbeddings, sharePrompts: false)
        let mb = layout.batch
        var all: [Float] = []
        all.reserveCapacity(mb.B * mb.T)
        pool.forEachScoringChunk(mb) { _, chunk, acts in
            model.forward(ids: chunk.ids, acts: acts, packing: chunk.packing)
            all += model.valuesForward(acts: acts)
        }
        return all.withUnsafeBufferPointer { layout.gather($0.baseAddress!) }
    }

    /// `ppo_epochs` passes in mini-batches, the clipped value loss, one update each.
    /// - Returns: the means over the updates of `value_loss`, `value_clipfrac` and
    ///   `critic_grad_norm`, and the last `critic_lr`.
    public func update(_ batch: ExperienceBatch) throws -> [String: Double] {
        try MiniBatchUpdates.run(batch, config: config, optimizer: optimizer, prefix: "critic_") { mb, tokens in
            let layout = try mb.responseLayout(padID: padID, maxLength: model.config.maxPositionEmbeddings, sharePrompts: false)
            let modelBatch = layout.batch
            let acts = pool.activations(B: modelBatch.B, T: modelBatch.T)
            let N = modelBatch.B * modelBatch.T
            if dvalues.count < N { dvalues = FloatBuffer(count: N) }
            model.forward(ids: modelBatch.ids, acts: acts, packing: modelBatch.packing)
            let all = model.valuesForward(acts: acts)
            let newValues = all.withUnsafeBufferPointer { layout.gather($0.baseAddress!) }
            let count = mb.B * mb.responseWidth
            var dResponse = [Float](repeating: 0, count: count)
            let result = Losses.ppoValue(dvalues: &dResponse, values: newValues, oldValues: mb.values, returns: mb.returns,
                                         mask: mb.mask, N: count, clip: config.valueClip, normalizer: Double(tokens))
            layout.scatter(dResponse, into: dvalues.pointer)
            model.valuesBackward(dvalues: dvalues.pointer, acts: acts)
            model.backward(acts: acts)
            return ["value_loss": result.loss, "value_clipfrac": Double(result.clippedTokens) / Double(tokens)]
        }
    }
}
