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
    /// `WeightDigest.digest` of `values`, which a generator replica checks the chunks it joined
    /// against. Computed where the update is made (a role's own thread: it reads every value).
    public var checksum: UInt64

    public init(version: Int, values: [Float], adaptersOnly: Bool) {
        self.version = version
        self.values = values
        self.adaptersOnly = adaptersOnly
        checksum = Self.digest(values)
    }

    /// An update as received, with the checksum its sender gave (`verify()` checks it).
    public init(version: Int, values: [Float], adaptersOnly: Bool, checksum: UInt64) {
        self.version = version
        self.values = values
        self.adaptersOnly = adaptersOnly
        self.checksum = checksum
    }

    /// Throws unless `values` have the checksum given (on the receiving role's thread: it reads
    /// every value).
    public func verify() throws {
        let actual = Self.digest(values)
        guard actual == checksum else {
            throw RoleError(.badInput, "policy version \(version)'s weights arrived with checksum \(String(actual, radix: 16)), not the trainer's \(String(checksum, radix: 16)): corrupted on the way")
        }
    }

    private static func digest(_ values: [Float]) -> UInt64 {
        values.withUnsafeBufferPointer { WeightDigest.digest($0.baseAddress!, count: $0.count) }
    }
}

/// A generator: samples responses with its own copy of the policy's weights (in the precision
/// `generation_precision` names: a bfloat16 copy of them by default), records the
/// behaviour log-probabilities as sampled and recomputes them with the training forward (the
/// old policy of PPO's ratio), and switches to new weights between batches. It runs inside the
/// actor (beside the trainer), or as the `generator` role, replicated, on its own.
public final class GeneratorLogic: RoleLogic {
    public let role: RoleName
    let model: Llama
    let adapters: LoRAAdapters?
    let generator: Generator
    let pool: ActivationPool
    let padID: Int, eosID: Int
    let config: RLAlgorithmConfig
    /// The policy version of the weights it holds (0: the starting model).
    public private(set) var version = 0

    /// - Parameter role: `.actor` for the actor's own generator, `.generator` for the role.
    public init(plan: RunPlan, role: RoleName = .actor) throws {
        self.role = role
        let loaded = try RoleModels.load(plan.actorModel, for: role)
        model = loaded.model
        if let lora = plan.actorLoRA {
            // The same seed as the trainer's adapters: both start from the same values.
            let trainable = LoRAParameters(model: model, config: lora, seed: plan.seed)
            trainable.setTraining(false)
            adapters = trainable.adapters
        } else {
            adapters = nil
        }
        generator = Generator(model: model, context: .current, precision: plan.algorithm.generationPrecision)
        pool = ActivationPool(model: model)
        padID = loaded.padID
        eosID = loaded.eosID
        config = plan.algorithm
    }

    /// Loads the trainer's new weights.
    public func apply(_ update: WeightsUpdate) throws {
        let target = update.adaptersOnly ? adapters?.parameters : model.parameters
        guard let target, target.count == update.values.count else {
            throw RoleError(.badInput, "\(role.rawValue): weights of version \(update.version) have \(update.values.count) values, expected \(update.adaptersOnly ? (adapters?.parameters.count ?? 0) : model.parameters.count)")
        }
        update.values.withUnsafeBufferPointer { target.pointer.update(from: $0.baseAddress!, count: $0.count) }
        // The bfloat16 copy follows the base's weights; adapters stay float32 and need none.
        if !update.adaptersOnly { generator.refreshWeights() }
        version = update.version
    }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        switch request {
        case .generate(let r):
            var batch = try ExperienceBatch(request: r, rollout: try sample(r), from: role.rawValue)
            batch.logProbs = try logProbs(batch, version: r.policyVersion)
            return .experiences(batch)
        case .sample(let r):
            return .rollout(try sample(r))
        case .policyLogProbs(let batch, let v):
            try batch.validate(vocabSize: model.config.vocabSize)
            return .perToken(try logProbs(batch, version: v))
        default:
            throw RoleError(.badInput, "the \(role.rawValue)'s generator does not answer \(request.kind)")
        }
    }

    private func validate(_ prompts: [[Int32]]) throws {
        let V = model.config.vocabSize
        for (i, p) in prompts.enumerated() {
            guard !p.isEmpty else { throw RoleError(.badInput, "\(role.rawValue): prompt \(i) is empty") }
            guard p.count + config.maxNewTokens <= model.config.maxPositionEmbeddings else {
                throw RoleError(.badInput, "\(role.rawValue): prompt \(i) of \(p.count) tokens plus max_new_tokens \(config.maxNewTokens) exceeds the model's \(model.config.maxPositionEmbeddings) positions")
            }
            if let bad = p.first(where: { $0 < 0 || Int($0) >= V }) {
                throw RoleError(.badInput, "\(role.rawValue): prompt \(i) has token id \(bad) outside the vocabulary of \(V)")
            }
        }
    }

    /// Samples the rows `r` asks for (its part of a batch, from `r.firstRow`).
    private func sample(_ r: GenerateRequest) throws -> RolloutPart {
        guard r.policyVersion == version else {
            throw RoleError(.failed, "\(role.rawValue): asked to generate batch \(r.batchID) with policy version \(r.policyVersion) but holds version \(version)")
        }
        guard r.samplesPerPrompt >= 1, !r.prompts.isEmpty else { throw RoleError(.badInput, "\(role.rawValue): an empty generate request") }
        // A limit on what a message may make this role allocate.
        guard r.samplesPerPrompt <= (1 << 16) / r.prompts.count else {
            throw RoleError(.badInput, "\(role.rawValue): \(r.prompts.count) prompts x \(r.samplesPerPrompt) samples is more than 65,536 rollouts in one batch")
        }
        try validate(r.prompts)
        let sampling = SamplingParameters(temperature: Float(config.temperature), topK: config.topK, topP: Float(config.topP), seed: r.seed)
        let rollout = try generator.rollout(prompts: r.prompts.map { $0.map(Int.init) }, samplesPerPrompt: r.samplesPerPrompt,
                                            maxNewTokens: config.maxNewTokens, sampling: sampling, stopTokens: [eosID],
                                            firstRow: r.firstRow)
        return RolloutPart(responses: rollout.responses.map { $0.map(Int32.init) }, behaviourLogProbs: rollout.logProbs,
                           ended: rollout.ended, padID: Int32(padID))
    }

    /// log π_θold of `batch`'s response tokens by the weights it holds, which must be `version`.
    private func logProbs(_ batch: ExperienceBatch, version v: Int) throws -> [Float] {
        guard v == version else {
            throw RoleError(.failed, "\(role.rawValue): asked for log-probabilities by policy version \(v) but holds version \(version)")
        }
        return try batch.logProbs(under: model, pool: pool, padID: padID, temperature: config.temperature, sharePrompts: config.sharePrompts)
    }
}
