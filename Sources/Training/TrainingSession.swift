import Datasets
import Foundation
import Model
import Tokenization

/// Builds a stage's objective from a recipe: reads the data and the tokenizer, loads (or starts)
/// the model(s), and checks that they fit each other before any training starts.
public enum TrainingSession {
    /// What a session prepared, with lines for the log.
    public struct Prepared {
        public var objective: any TrainingObjective
        public var report: [String]
    }

    /// Reads the data and the models of `resolved` and makes its stage's objective.
    /// - Throws: `RecipeError`, `DatasetError`, `CheckpointError`, `TokenizerError` or
    ///   `TrainingError`, each naming the file at fault.
    public static func prepare(_ resolved: ResolvedRecipe) throws -> Prepared {
        let r = resolved.recipe
        let stage = resolved.stage
        var data = try TrainingData(recipe: r, stage: stage)
        var report: [String] = []
        let padID = data.tokenizer.paddingID
        let companions = CompanionFiles(tokenizerPath: data.tokenizerPath, template: data.template)
        let objective: any TrainingObjective
        switch stage {
        case .pt, .sft:
            let model = try loadModel(r.modelNameOrPath, allowFromScratch: stage == .pt, seed: UInt64(r.seed), report: &report)
            try check(model, fits: data.tokenizer, recipe: r, path: r.modelNameOrPath, wantsScoreHead: false)
            let train = try data.languageModelSequences(data.records.train, stage: stage, packing: r.packing, what: "train")
            let eval = try data.languageModelSequences(data.records.eval, stage: stage, packing: r.packing, what: "eval")
            objective = LanguageModelObjective(stage: stage, model: model, train: train, eval: eval, padID: padID,
                                               evalBatchSize: r.perDeviceEvalBatchSize, companions: companions,
                                               trainable: try lora(model, r, &report), neftuneNoiseAlpha: r.neftuneNoiseAlpha ?? 0)
            report.append("\(train.count) training sequences (\(train.reduce(0) { $0 + $1.targetCount }) target tokens), \(eval.count) eval sequences")
        case .rm:
            var model = try loadModel(r.modelNameOrPath, allowFromScratch: false, seed: 0, report: &report)
            if model.layout.score == nil {
                model = model.makeRewardModel(padTokenID: padID, seed: UInt64(r.seed))
                report.append("reward model: the decoder of \(r.modelNameOrPath) with a new score head (1, \(model.config.hiddenSize)) ~ N(0, 0.02), seed \(r.seed)")
            }
            if data.tokenizer.padID < 0 {
                report.append("warning: the tokenizer has no pad token; transformers will read scores at the last token that is not \(padID)")
            }
            try check(model, fits: data.tokenizer, recipe: r, path: r.modelNameOrPath, wantsScoreHead: true)
            let train = try data.preferenceExamples(data.records.train, what: "train")
            let eval = try data.preferenceExamples(data.records.eval, what: "eval")
            objective = RewardModelObjective(model: model, train: train, eval: eval, padID: padID,
                                             evalBatchSize: r.perDeviceEvalBatchSize, companions: companions,
                                             trainable: try lora(model, r, &report))
            report.append("\(train.count) training pairs, \(eval.count) eval pairs")
        case .dpo:
            let policy = try loadModel(r.modelNameOrPath, allowFromScratch: false, seed: 0, report: &report)
            let referencePath = r.refModelNameOrPath ?? r.modelNameOrPath
            let reference = try loadModel(referencePath, allowFromScratch: false, seed: 0, report: &report)
            try check(policy, fits: data.tokenizer, recipe: r, path: r.modelNameOrPath, wantsScoreHead: false)
            try check(reference, fits: data.tokenizer, recipe: r, path: referencePath, wantsScoreHead: false)
            guard policy.config == reference.config else {
                throw TrainingError(.incompatibleModel, path: referencePath, "the reference model's configuration differs from the policy's (\(r.modelNameOrPath))")
            }
            let train = try data.preferenceExamples(data.records.train, what: "train")
            let eval = try data.preferenceExamples(data.records.eval, what: "eval")
            objective = PreferenceObjective(policy: policy, reference: reference, train: train, eval: eval, beta: r.beta,
                                            lossType: Losses.PreferenceLossType(rawValue: r.lossType) ?? .sigmoid, padID: padID,
                                            evalBatchSize: r.perDeviceEvalBatchSize, companions: companions,
                                            trainable: try lora(policy, r, &report))
            report.append("\(train.count) training pairs, \(eval.count) eval pairs; reference: \(referencePath), beta \(r.beta), loss \(r.lossType)")
        }
        return Prepared(objective: objective, report: data.report + report)
    }

    /// LoRA adapters on `model` when the recipe asks for them, else nil (every weight trains).
    static func lora(_ model: Llama, _ r: TrainingRecipe, _ report: inout [String]) throws -> (any TrainableParameters)? {
        guard var config = try r.loraConfig() else { return nil }
        if model.layout.score != nil {
            // A reward model: PEFT's SEQ_CLS task, the score head trained and saved beside the
            // adapters (modules_to_save), as get_peft_model does for sequence classification.
            config.taskType = .sequenceClassification
            config.modulesToSave = ["score"]
        }
        let parameters = LoRAParameters(model: model, config: config, seed: UInt64(r.seed))
        let share = 100 * Double(parameters.adapters.parameterCount) / Double(model.parameterCount)
        report.append("LoRA: r \(config.r), alpha \(config.alpha), dropout \(config.dropout) on \(config.targetModules.map(\.rawValue).joined(separator: ", ")): \(parameters.adapters.parameterCount) trainable parameters (\(String(format: "%.2f", share))% of \(model.parameterCount))\(config.savesScoreHead ? ", the score head included" : ""); the base is frozen, checkpoints hold PEFT adapters")
        return parameters
    }

    /// Loads a HF model directory. A directory with config.json and no weights starts from
    /// random weights when `allowFromScratch` (pre-training from scratch, as transformers'
    /// `run_clm` does given only a config).
    public static func loadModel(_ path: String, allowFromScratch: Bool, seed: UInt64, report: inout [String]) throws -> Llama {
        let dir = CheckpointDirectory(path: path)
        let fm = FileManager.default
        let hasWeights = ["model.safetensors", "model.safetensors.index.json"].contains {
            fm.fileExists(atPath: (path as NSString).appendingPathComponent($0))
        }
        if !hasWeights, allowFromScratch {
            let model = Llama(config: try dir.loadConfig())
            model.initializeRandom(seed: seed)
            report.append("model: \(path) has config.json and no weights: starting from random weights (seed \(seed))")
            return model
        }
        let model = try Llama.load(directory: path)
        let c = model.config
        report.append("model: \(path): \(c.architecture), \(model.parameterCount) parameters (hidden \(c.hiddenSize), \(c.numHiddenLayers) layers, \(c.numAttentionHeads) heads, vocab \(c.vocabSize))")
        return model
    }

    /// Refuses a model that cannot take the tokenizer's ids or the recipe's lengths, or has the
    /// wrong head for the stage.
    static func check(_ model: Llama, fits tokenizer: any TextTokenizer, recipe r: TrainingRecipe, path: String,
                      wantsScoreHead: Bool) throws {
        let c = model.config
        guard tokenizer.pieceCount <= c.vocabSize else {
            throw TrainingError(.incompatibleModel, path: path, "the tokenizer has \(tokenizer.pieceCount) pieces but the model's vocab_size is \(c.vocabSize)")
        }
        guard r.maxSeqLength <= c.maxPositionEmbeddings else {
            throw TrainingError(.incompatibleModel, path: path, "max_seq_length \(r.maxSeqLength) exceeds the model's max_position_embeddings \(c.maxPositionEmbeddings)")
        }
        if wantsScoreHead, model.layout.head != .score(labels: 1) {
            throw TrainingError(.incompatibleModel, path: path, "a reward model needs one label, this one has \(model.layout.head)")
        }
        if !wantsScoreHead, model.layout.score != nil {
            throw TrainingError(.incompatibleModel, path: path, "is a \(c.architecture) (a score head); this stage trains a causal LM")
        }
    }
}
