import Foundation
import Model
import Tensor

/// The actor's side of a step-3 update: given a batch of experiences, the PPO (or GRPO, RLOO)
/// policy loss over its mini-batches, the gradient through the model, and an optimizer update per
/// mini-batch. Knows nothing of messages; the Actor role drives it.
///
/// Every update recomputes log π_θ(a|s) with the training forward (no dropout: LoRA dropout is
/// switched off for the whole of step 3, as DeepSpeed-Chat disables actor dropout), so with
/// unchanged weights the ratio to `logProbs` (recomputed by the same forward) is exactly 1.
public final class PolicyTrainer {
    public let model: Llama
    public let trainable: any TrainableParameters
    public let config: RLAlgorithmConfig
    public let optimizer: OptimizerStep
    let padID: Int
    let pool: ActivationPool
    private var dlogprobs = FloatBuffer(count: 0)
    /// Pre-training data for PPO-ptx, or nil: after each policy update, one update on
    /// `ptx_coef` times the language-model loss of the next ptx batch, as DeepSpeed-Chat steps
    /// its actor on `unsup_coef * unsup_loss` after each PPO step.
    public let ptx: PTXData?

    /// - Parameters:
    ///   - model: the actor (its adapters attached when LoRA trains).
    ///   - trainable: what the optimizer updates: every weight, or the LoRA adapters.
    ///   - config: the algorithm's settings (losses, learning rate, mini-batch size).
    ///   - padID: the padding id of the model's tokenizer.
    ///   - totalUpdates: optimizer updates the run is planned for (the schedule's length).
    ///   - ptx: pre-training data for PPO-ptx; each policy update is then followed by a ptx update
    ///     (count them in `totalUpdates`).
    public init(model: Llama, trainable: any TrainableParameters, config: RLAlgorithmConfig, padID: Int, totalUpdates: Int,
                ptx: PTXData? = nil) {
        self.model = model
        self.ptx = ptx
        self.trainable = trainable
        self.config = config
        self.padID = padID
        pool = ActivationPool(model: model)
        trainable.setTraining(false)
        optimizer = config.optimizer(for: trainable, rate: config.actorLearningRate, totalUpdates: totalUpdates)
    }

    /// log π_θ(a_j | s_j) of every response token, (B, R), with the training forward.
    public func logProbs(of batch: ExperienceBatch) throws -> [Float] {
        try batch.logProbs(under: model, pool: pool, padID: padID, temperature: config.temperature, sharePrompts: config.sharePrompts)
    }

    /// `ppo_epochs` passes over `batch` in mini-batches of `mini_batch_size` rows (shuffled by a
    /// seed of the batch id unless `shuffle_mini_batches` is off), one optimizer update each.
    /// - Returns: the means over the updates of `policy_loss`, `policy_clipfrac`, `approx_kl`
    ///   (k2 of old vs new, as trl logs it), `actor_grad_norm`, `ptx_loss` (with ptx data), and
    ///   the last `actor_lr`.
    public func update(_ batch: ExperienceBatch) throws -> [String: Double] {
        try MiniBatchUpdates.run(batch, config: config, optimizer: optimizer, prefix: "actor_", accumulate: { mb, tokens in
            let result = try accumulate(mb, normalizer: Double(tokens))
            return ["policy_loss": result.loss, "policy_clipfrac": Double(result.clippedTokens) / Double(tokens),
                    "approx_kl": result.approxKLSum / Double(tokens)]
        }, after: {
            guard let ptx else { return [:] }
            return ["ptx_loss": ptxUpdate(ptx)]
        })
    }

    /// One optimizer update on γ times the LM loss of the next ptx batch; returns that loss.
    private func ptxUpdate(_ ptx: PTXData) -> Double {
        // The update count, not a counter of its own, picks the batch: it is saved with the optimizer.
        let rows = ptx.batch(optimizer.step / 2)
        let batch = Evaluation.modelBatch(rows, padID: padID, model: model)
        let acts = pool.activations(B: batch.B, T: batch.T)
        let N = batch.B * batch.T
        if dlogprobs.count < N { dlogprobs = FloatBuffer(count: N) }
        trainable.gradients.zero()
        Evaluation.runLanguageModel(model, batch, acts)
        let (loss, _) = Losses.ptx(dlogprobs: dlogprobs.pointer, logprobs: acts.logprobs.pointer, targets: batch.targets, N: N,
                                   coefficient: config.ptxCoef, normalizer: Double(max(1, batch.targetCount)))
        model.languageModelBackward(dlogprobs: dlogprobs.pointer, targets: batch.targets, acts: acts)
        model.backward(acts: acts)
        _ = optimizer.apply()
        return loss
    }

    /// Adds the gradient of one mini-batch's policy loss into `trainable.gradients`.
    private func accumulate(_ mb: ExperienceBatch, normalizer: Double) throws -> Losses.PolicyLossStats {
        // A shuffled mini-batch holds a few answers of each of many groups, in ascending row
        // order: the adjacent answers to one prompt pack, whichever groups they came from.
        let layout = try mb.responseLayout(padID: padID, maxLength: model.config.maxPositionEmbeddings, sharePrompts: config.sharePrompts,
                                           acrossGroups: true)
        let batch = layout.batch
        let acts = pool.activations(B: batch.B, T: batch.T)
        let N = batch.B * batch.T
        if dlogprobs.count < N { dlogprobs = FloatBuffer(count: N) }
        TemperedLanguageModel.forward(model, batch, acts, temperature: config.temperature)
        let newLogProbs = layout.gather(acts.logprobs.pointer)
        let mask = mb.mask
        let count = mb.B * mb.responseWidth
        var dResponse = [Float](repeating: 0, count: count)
        let result: Losses.PolicyLossStats = dResponse.withUnsafeMutableBufferPointer { d in
            switch config.algorithm {
            case .ppo, .rloo:
                Losses.ppoPolicy(dlogprobs: d.baseAddress!, logProbs: newLogProbs, oldLogProbs: mb.logProbs, advantages: mb.advantages,
                                 mask: mask, N: count, clip: config.policyClip, normalizer: normalizer)
            case .grpo:
                Losses.grpoPolicy(dlogprobs: d.baseAddress!, logProbs: newLogProbs, oldLogProbs: mb.logProbs, refLogProbs: mb.refLogProbs,
                                  advantages: mb.advantages, mask: mask, N: count, clip: config.policyClip, beta: config.klCoef,
                                  normalizer: normalizer)
            }
        }
        layout.scatter(dResponse, into: dlogprobs.pointer)
        TemperedLanguageModel.backward(model, dlogprobs: dlogprobs.pointer, batch, acts, temperature: config.temperature)
        return result
    }
}
