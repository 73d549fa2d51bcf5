import Foundation
import Model
import Tensor
import Training

/// New actor weights, versioned: the whole parameter block, or only the LoRA adapters' block when
/// adapters train (the base never changes, so it never travels).
public struct WeightsUpdate: Sendable {
    public var version: Int
    public var values: [Float]
    public var adaptersOnly: Bool
}

/// The actor's generator: samples responses with its own copy of the policy's weights, records
/// the behaviour log-probabilities as sampled and recomputes them with the training forward (the
/// old policy of PPO's ratio), and switches to new weights between batches.
public final class GeneratorLogic: RoleLogic {
    public let role = RoleName.actor
    let model: Llama
    let adapters: LoRAAdapters?
    let generator: Generator
    let pool: ActivationPool
    let padID: Int, eosID: Int
    let config: RLAlgorithmConfig
    /// The policy version of the weights it holds (0: the starting model).
    public private(set) var version = 0

    public init(plan: RunPlan) throws {
        let loaded = try RoleModels.load(plan.actorModel, for: .actor)
        model = loaded.model
        if let lora = plan.actorLoRA {
            // The same seed as the trainer's adapters: both start from the same values.
            let trainable = LoRAParameters(model: model, config: lora, seed: plan.seed)
            trainable.setTraining(false)
            adapters = trainable.adapters
        } else {
            adapters = nil
        }
        generator = Generator(model: model, context: .current)
        pool = ActivationPool(model: model)
        padID = loaded.padID
        eosID = loaded.eosID
        config = plan.algorithm
    }

    /// Loads the trainer's new weights.
    public func apply(_ update: WeightsUpdate) throws {
        let target = update.adaptersOnly ? adapters?.parameters : model.parameters
        guard let target, target.count == update.values.count else {
            throw RoleError(.badInput, "actor: weights of version \(update.version) have \(update.values.count) values, expected \(update.adaptersOnly ? (adapters?.parameters.count ?? 0) : model.parameters.count)")
        }
        update.values.withUnsafeBufferPointer { target.pointer.update(from: $0.baseAddress!, count: $0.count) }
        version = update.version
    }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        switch request {
        case .generate(let r):
            return .experiences(try generate(r))
        default:
            throw RoleError(.badInput, "the actor's generator does not answer \(request.kind)")
        }
    }

    private func validate(_ prompts: [[Int32]]) throws {
        let V = model.config.vocabSize
        for (i, p) in prompts.enumerated() {
            guard !p.isEmpty else { throw RoleError(.badInput, "actor: prompt \(i) is empty") }
            guard p.count + config.maxNewTokens <= model.config.maxPositionEmbeddings else {
                throw RoleError(.badInput, "actor: prompt \(i) of \(p.count) tokens plus max_new_tokens \(config.maxNewTokens) exceeds the model's \(model.config.maxPositionEmbeddings) positions")
            }
            if let bad = p.first(where: { $0 < 0 || Int($0) >= V }) {
                throw RoleError(.badInput, "actor: prompt \(i) has token id \(bad) outside the vocabulary of \(V)")
            }
        }
    }

    private func generate(_ r: GenerateRequest) throws -> ExperienceBatch {
        guard r.policyVersion == version else {
            throw RoleError(.failed, "actor: asked to generate batch \(r.batchID) with policy version \(r.policyVersion) but holds version \(version)")
        }
        guard r.samplesPerPrompt >= 1, !r.prompts.isEmpty else { throw RoleError(.badInput, "actor: an empty generate request") }
        // A limit on what a message may make this role allocate.
        guard r.samplesPerPrompt <= (1 << 16) / r.prompts.count else {
            throw RoleError(.badInput, "actor: \(r.prompts.count) prompts x \(r.samplesPerPrompt) samples is more than 65,536 rollouts in one batch")
        }
        try validate(r.prompts)
        let sampling = SamplingParameters(temperature: Float(config.temperature), topK: config.topK, topP: Float(config.topP), seed: r.seed)
        let rollout = try generator.rollout(prompts: r.prompts.map { $0.map(Int.init) }, samplesPerPrompt: r.samplesPerPrompt,
                                            maxNewTokens: config.maxNewTokens, sampling: sampling, stopTokens: [eosID])
        var batch = ExperienceBatch(prompts: rollout.prompts.map { $0.map(Int32.init) },
                                    responses: rollout.responses.map { $0.map(Int32.init) }, padID: Int32(padID),
                                    batchID: r.batchID, iteration: r.iteration, policyVersion: version, groupSize: r.samplesPerPrompt)
        for b in 0..<batch.B {
            for (j, lp) in rollout.logProbs[b].enumerated() { batch.behaviourLogProbs[b * batch.responseWidth + j] = lp }
            batch.ended[b] = rollout.ended[b] ? 1 : 0
        }
        batch.logProbs = try batch.logProbs(under: model, pool: pool, padID: padID, temperature: config.temperature)
        return batch
    }
}
