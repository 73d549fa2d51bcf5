import Foundation
import Model
import Tensor
import Tokenization
import Training

/// The actor's trainer: the policy update on experience batches, checkpoints of the policy and
/// its optimizer, the weights it sends the generator after each update, and the greedy answers
/// of the held-out evaluation (by the weights it holds, whose version the request names).
public final class PolicyTrainerLogic: RoleLogic {
    public let role = RoleName.actor
    let trainer: PolicyTrainer
    let companions: CompanionFiles
    let lora: Bool
    /// The moving average of the weights when `actor_ema` is set, saved in `ema/` beside the actor.
    let ema: WeightEMA?
    let layout: CheckpointLayout
    let eosID: Int
    /// Greedy answers for evaluations, on the trainer's own weights.
    let answerer: Generator
    public private(set) var version = 0
    /// Whether generator replicas fetch the weights (which then carry a checksum).
    let checksummed: Bool

    public init(plan: RunPlan) throws {
        checksummed = plan.hasGenerator
        let loaded = try RoleModels.load(plan.actorModel, for: .actor)
        let trainable: any TrainableParameters = if let lora = plan.actorLoRA {
            LoRAParameters(model: loaded.model, config: lora, seed: plan.seed)
        } else {
            FullParameters(model: loaded.model)
        }
        lora = plan.actorLoRA != nil
        layout = CheckpointLayout(runDirectory: plan.directory, savesAlone: plan.savesAlone(.actor))
        eosID = loaded.eosID
        let ptx = try plan.ptxFile.map {
            try PTXData(file: $0, modelDirectory: plan.actorModel,
                        maxLength: min(loaded.model.config.maxPositionEmbeddings, plan.algorithm.maxPromptLength + plan.algorithm.maxNewTokens),
                        batchSize: plan.algorithm.miniBatchSize, seed: plan.seed)
        }
        // With ptx, each policy update is followed by a ptx update of the same optimizer.
        trainer = PolicyTrainer(model: loaded.model, trainable: trainable, config: plan.algorithm, padID: loaded.padID,
                                totalUpdates: plan.plannedUpdates * (ptx == nil ? 1 : 2), ptx: ptx)
        companions = CompanionFiles(tokenizerPath: loaded.tokenizerPath, template: try ChatFormat.load(fromDirectory: plan.actorModel))
        answerer = Generator(model: loaded.model, context: .current)
        let trained = trainer.trainable
        ema = plan.algorithm.actorEMA.map { WeightEMA(trainable: trained, decay: $0) }
    }

    /// The parameters the policy update trains (the whole model, or LoRA's adapters).
    public var trainable: any TrainableParameters { trainer.trainable }

    /// The weights of the current version, for the generators.
    public func weights() -> WeightsUpdate {
        update(version: version, values: trainer.trainable.values.array)
    }

    /// An update of these values, checksummed (here, on the trainer's thread) only when a
    /// generator role will fetch it over Messaging; the actor's own generator needs no checksum.
    func update(version: Int, values: [Float]) -> WeightsUpdate {
        checksummed ? WeightsUpdate(version: version, values: values, adaptersOnly: lora)
                    : WeightsUpdate(version: version, values: values, adaptersOnly: lora, checksum: 0)
    }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        switch request {
        case .trainPolicy(let batch):
            try batch.validate(vocabSize: trainer.model.config.vocabSize)
            let metrics = try trainer.update(batch)
            ema?.update()
            version += 1
            return .trained(metrics: metrics, version: version, digests: WeightDigest.of(trainer.trainable))
        case .answer(let prompts, let maxNewTokens, let policyVersion):
            guard policyVersion == version else {
                throw RoleError(.failed, "actor: asked for answers by policy version \(policyVersion) but the trainer holds version \(version)")
            }
            guard !prompts.isEmpty, prompts.count <= RoleCodec.maxRows else {
                throw RoleError(.badInput, "actor: \(prompts.count) prompts to answer; expected 1 to \(RoleCodec.maxRows)")
            }
            let out = try answerer.generate(prompts: prompts.map { $0.map(Int.init) }, maxNewTokens: maxNewTokens, stopTokens: [eosID])
            return .responses(out.newTokens.map { $0.filter { $0 != eosID }.map(Int32.init) })
        case .save(let target):
            try save(target, history: [:])
            return .done
        case .restore(let iteration):
            try restore(iteration: iteration)
            return .done
        default:
            throw RoleError(.badInput, "the actor's trainer does not answer \(request.kind)")
        }
    }

    private var files: TrainerCheckpointFiles {
        TrainerCheckpointFiles(trainable: trainer.trainable, optimizer: trainer.optimizer, companions: companions,
                               versionFile: "policy_version")
    }

    /// Saves into the run directory where `target` says (`CheckpointLayout`), with `history`.
    public func save(_ target: SaveTarget, history: [Int: [Float]]) throws {
        try layout.writePart(target, role: .actor) { try save(to: $0, history: history) }
    }

    /// Restores `checkpoint-N/actor` of the run directory.
    /// - Returns: the older versions saved beside it.
    @discardableResult
    public func restore(iteration: Int) throws -> [Int: [Float]] {
        try restore(from: try layout.savedPart(iteration: iteration, role: .actor))
    }

    /// Writes the policy (HF layout, or the PEFT adapter), its tokenizer and chat template, the
    /// optimizer state, the policy version, the EMA weights, and `history` (the trainable block
    /// of older versions a pipelined run still generates with) into `directory`.
    public func save(to directory: String, history: [Int: [Float]] = [:]) throws {
        try files.save(to: directory, version: version)
        try WeightHistory.save(history, to: directory)
        if let ema {
            try ema.save(to: "\(directory)/ema")
            try companions.save(to: "\(directory)/ema")
        }
    }

    /// Loads what `save(to:)` wrote.
    /// - Returns: the older versions saved beside it (none from a checkpoint without them).
    @discardableResult
    public func restore(from directory: String) throws -> [Int: [Float]] {
        guard let v = try files.restore(from: directory) else {
            throw RoleError(.checkpoint, "\(directory)/policy_version: missing; an actor checkpoint always has one")
        }
        version = v
        try ema?.restore(from: "\(directory)/ema")
        return try WeightHistory.load(from: directory, count: trainer.trainable.values.count)
    }
}
