import Foundation
import Model
import Tasks
import Tokenization
import Training

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
    private let tokenizer: (any TextTokenizer)?
    private let eosID: Int
    private let vocabSize: Int
    /// The run's `share_prompts`: a reward model scores the answers to one prompt packed.
    private let sharePrompts: Bool

    public init(plan: RunPlan) throws {
        tokenizer = try TokenizerFiles.loadIfPresent(directory: plan.actorModel)
        sharePrompts = plan.algorithm.sharePrompts
        eosID = tokenizer.map { $0.eosID >= 0 ? $0.eosID : 2 } ?? 2
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
            vocabSize = Self.generatedVocabulary(plan, tokenizer)
        case .program(let command, let timeout):
            scorer = .program(try RewardProgram(command: command, timeoutSeconds: timeout))
            vocabSize = Self.generatedVocabulary(plan, tokenizer)
        }
        if case .model = scorer {} else if tokenizer == nil {
            throw RoleError(.loading, "reward: \(plan.actorModel) has no tokenizer.model or tokenizer.json; rule and program rewards decode responses with the actor's tokenizer")
        }
    }

    /// The ids a decoded response may hold: the actor's embedding rows when its config.json is on
    /// this host (a checkpoint may have more rows than tokens; those ids decode to nothing), else
    /// the tokenizer's tokens.
    private static func generatedVocabulary(_ plan: RunPlan, _ tokenizer: (any TextTokenizer)?) -> Int {
        let pieces = tokenizer?.pieceCount ?? 0
        let rows = (try? LlamaConfig.load(contentsOf: "\(plan.actorModel)/config.json"))?.vocabSize ?? 0
        return max(pieces, rows)
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
            // Each answer's score is read at its last token, wherever its packed row put it.
            let layout = try batch.responseLayout(padID: padID, maxLength: model.config.maxPositionEmbeddings, sharePrompts: sharePrompts)
            let mb = layout.batch
            var scores = [Float](repeating: 0, count: batch.B)
            pool.forEachScoringChunk(mb) { rows, chunk, acts in
                model.forward(ids: chunk.ids, acts: acts, packing: chunk.packing)
                let span = rows.lowerBound * mb.T..<rows.upperBound * mb.T
                let mine = (0..<batch.B).filter { span.contains(Int(layout.lastTokenIndex[$0])) }
                let values = model.score(atPositions: mine.map { Int(layout.lastTokenIndex[$0]) - span.lowerBound }, acts: acts)
                for (b, v) in zip(mine, values) { scores[b] = v }
            }
            return .scores(scores)
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
        return try tokenizer!.decodeGenerated(ids).trimmingCharacters(in: .whitespaces)
    }
}
