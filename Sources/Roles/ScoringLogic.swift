import Foundation
import Model
import Tasks
import Tokenization
import Training

/// The reference role: the frozen step-1 model's log-probabilities of each response token.
public final class ReferenceLogic: RoleLogic {
    public let role = RoleName.reference
    let model: Llama
    let pool: ActivationPool
    let padID: Int

    public init(plan: RunPlan) throws {
        let loaded = try RoleModels.load(plan.referenceModel, for: .reference)
        model = loaded.model
        pool = ActivationPool(model: model)
        padID = loaded.padID
    }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        guard case .referenceLogProbs(let batch) = request else {
            throw RoleError(.badInput, "the reference does not answer \(request.kind)")
        }
        try batch.validate(vocabSize: model.config.vocabSize)
        return .perToken(try batch.logProbs(under: model, pool: pool, padID: padID))
    }
}

/// The critic role: V(s_j) per response token, and the clipped value loss's updates.
public final class CriticLogic: RoleLogic {
    public let role = RoleName.critic
    let trainer: ValueTrainer
    let companions: CompanionFiles

    public init(plan: RunPlan) throws {
        guard let path = plan.criticModel else { throw RoleError(.loading, "critic: the run names no critic model") }
        let loaded = try RoleModels.load(path, for: .critic)
        guard loaded.model.layout.head == .score(labels: 1) else {
            throw RoleError(.loading, "critic: \(path) is \(loaded.model.config.architecture) with head \(loaded.model.layout.head); start the critic from a step-2 reward model directory (a single-label sequence classifier)")
        }
        trainer = ValueTrainer(model: loaded.model, trainable: FullParameters(model: loaded.model), config: plan.algorithm,
                               padID: loaded.padID, totalUpdates: plan.plannedUpdates)
        companions = CompanionFiles(tokenizerPath: loaded.tokenizerPath, template: try ChatTemplate.load(fromDirectory: path))
    }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        switch request {
        case .values(let batch):
            try batch.validate(vocabSize: trainer.model.config.vocabSize)
            return .perToken(try trainer.values(of: batch))
        case .trainValue(let batch):
            try batch.validate(vocabSize: trainer.model.config.vocabSize)
            return .trained(metrics: try trainer.update(batch), version: 0)
        case .save(let directory):
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try trainer.trainable.save(to: directory)
            try companions.save(to: directory)
            try trainer.optimizer.save(toDirectory: directory)
            return .done
        case .restore(let directory):
            try trainer.trainable.restore(from: directory)
            try trainer.optimizer.restore(fromDirectory: directory)
            return .done
        default:
            throw RoleError(.badInput, "the critic does not answer \(request.kind)")
        }
    }
}

/// The reward role: one score per response, from a step-2 reward model, the demo tasks' rule
/// checker, or an external program.
public final class RewardLogic: RoleLogic {
    public let role = RoleName.reward
    private enum Scorer {
        case model(Llama, ActivationPool, padID: Int)
        case rules(TaskChecker)
        case program(RewardProgram)
    }
    private let scorer: Scorer
    /// Decodes responses for the rule checker and external programs.
    private let tokenizer: SentencePieceTokenizer?
    private let eosID: Int
    private let vocabSize: Int

    public init(plan: RunPlan) throws {
        let actorTokenizer = "\(plan.actorModel)/tokenizer.model"
        tokenizer = FileManager.default.fileExists(atPath: actorTokenizer) ? try SentencePieceTokenizer(contentsOf: actorTokenizer) : nil
        eosID = tokenizer?.eosID ?? 2
        switch plan.reward {
        case .model(let path):
            let loaded = try RoleModels.load(path, for: .reward)
            guard loaded.model.layout.head == .score(labels: 1) else {
                throw RoleError(.loading, "reward: \(path) is \(loaded.model.config.architecture) with head \(loaded.model.layout.head); give a step-2 reward model directory (a single-label sequence classifier, num_labels 1)")
            }
            scorer = .model(loaded.model, ActivationPool(model: loaded.model), padID: loaded.padID)
            vocabSize = loaded.model.config.vocabSize
        case .demoRules:
            scorer = .rules(TaskChecker())
            vocabSize = Int(Int32.max)
        case .program(let command, let timeout):
            scorer = .program(try RewardProgram(command: command, timeoutSeconds: timeout))
            vocabSize = Int(Int32.max)
        }
        if case .model = scorer {} else if tokenizer == nil {
            throw RoleError(.loading, "reward: \(actorTokenizer) is missing; rule and program rewards decode responses with the actor's tokenizer")
        }
    }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        guard case .score(let batch, let texts) = request else {
            throw RoleError(.badInput, "the reward role does not answer \(request.kind)")
        }
        try batch.validate(vocabSize: vocabSize)
        guard texts.count == batch.B else {
            throw RoleError(.badInput, "reward: \(texts.count) prompt texts for \(batch.B) responses")
        }
        switch scorer {
        case .model(let model, let pool, let padID):
            let mb = try batch.modelBatch(padID: padID, maxLength: model.config.maxPositionEmbeddings)
            let acts = pool.activations(B: mb.B, T: mb.T)
            model.forward(ids: mb.ids, acts: acts)
            return .scores(model.scoreForward(lengths: mb.lengths, acts: acts))
        case .rules(let checker):
            return .scores(try (0..<batch.B).map { b in
                checker.check(prompt: texts[b], response: try responseText(batch, b)).isCorrect ? 1 : 0
            })
        case .program(let program):
            let items = try (0..<batch.B).map { b in
                RewardProgram.Item(prompt: texts[b], response: try responseText(batch, b), ended: batch.ended[b] != 0)
            }
            return .scores(try program.score(items))
        }
    }

    private func responseText(_ batch: ExperienceBatch, _ b: Int) throws -> String {
        let ids = batch.response(b).map(Int.init).filter { $0 != eosID }
        return try tokenizer!.decode(ids).trimmingCharacters(in: .whitespaces)
    }
}
