import Datasets
import Foundation
import Model
import Tensor
import Tokenization

/// pt and sft: the causal LM loss on the target tokens of each sequence (every token for pt,
/// every assistant turn for sft), averaged over the targets of the whole optimizer step.
public final class LanguageModelObjective: TrainingObjective {
    public let stage: TrainingStage
    public let model: Llama
    public let trainable: any TrainableParameters
    public let train: [TokenSequence]
    public let eval: [TokenSequence]
    let padID: Int
    let evalBatchSize: Int
    let companions: CompanionFiles
    let pool: ActivationPool
    /// (N) d loss / d logprobs, grown to the largest batch.
    private var dlogprobs = FloatBuffer(count: 0)
    /// NEFTune's alpha (`neftune_noise_alpha`); 0 adds no noise and draws nothing from the run's
    /// generator, so runs without it keep their exact numbers.
    public let neftuneNoiseAlpha: Double

    /// - Parameters:
    ///   - stage: `.pt` or `.sft` (the data decides what is a target; the loss is the same).
    ///   - model: the causal LM to train.
    ///   - train: training sequences.
    ///   - eval: evaluation sequences (may be empty).
    ///   - padID: the padding id.
    ///   - evalBatchSize: sequences per evaluation batch.
    ///   - companions: tokenizer and template files saved beside the model.
    ///   - trainable: what the optimizer updates; nil for every weight of the model.
    ///   - neftuneNoiseAlpha: NEFTune's alpha for the training batches; 0 for none.
    public init(stage: TrainingStage, model: Llama, train: [TokenSequence], eval: [TokenSequence], padID: Int,
                evalBatchSize: Int, companions: CompanionFiles,
                trainable: (any TrainableParameters)? = nil, neftuneNoiseAlpha: Double = 0) {
        precondition(model.layout.score == nil, "a causal LM is needed, not a model with a score head")
        self.stage = stage
        self.model = model
        self.trainable = trainable ?? FullParameters(model: model)
        self.train = train
        self.eval = eval
        self.padID = padID
        self.evalBatchSize = evalBatchSize
        self.companions = companions
        self.pool = ActivationPool(model: model)
        self.neftuneNoiseAlpha = neftuneNoiseAlpha
    }

    public var trainExampleCount: Int { train.count }
    public var trainExampleLengths: [Int] { train.map(\.ids.count) }
    public var hasEvaluationData: Bool { !eval.isEmpty }

    public func accumulateGradients(microBatches: [[Int]], rng: inout SplitMix64) -> StepStatistics {
        var stats = StepStatistics()
        let normalizer = Double(microBatches.joined().reduce(0) { $0 + train[$1].targetCount })
        for indices in microBatches {
            let batch = Evaluation.modelBatch(indices.map { train[$0] }, padID: padID, model: model)
            let acts = pool.activations(B: batch.B, T: batch.T)
            let N = batch.B * batch.T
            if dlogprobs.count < N { dlogprobs = FloatBuffer(count: N) }
            let noise = neftuneNoiseAlpha > 0 ? Llama.EmbeddingNoise(alpha: Float(neftuneNoiseAlpha), seed: rng.next()) : nil
            Evaluation.runLanguageModel(model, batch, acts, embeddingNoise: noise)
            let (loss, _) = Losses.languageModel(dlogprobs: dlogprobs.pointer, logprobs: acts.logprobs.pointer,
                                                 targets: batch.targets, N: N, normalizer: max(1, normalizer))
            model.languageModelBackward(dlogprobs: dlogprobs.pointer, targets: batch.targets, acts: acts)
            model.backward(acts: acts)
            stats.loss += loss
            stats.tokens += batch.tokenCount
            stats.paddedTokens += N
        }
        return stats
    }

    public func evaluate() -> [String: Double] {
        guard hasEvaluationData else { return [:] }
        let (loss, targets) = Evaluation.languageModelLoss(model: model, sequences: eval, batchSize: evalBatchSize,
                                                           padID: padID, pool: pool)
        return ["eval_loss": loss, "eval_perplexity": exp(loss), "eval_tokens": Double(targets)]
    }

    public func saveCompanionFiles(to directory: String) throws {
        try companions.save(to: directory)
    }
}

/// The files saved beside every model a run writes, so that a checkpoint directory is complete:
/// the tokenizer it was trained with and the chat template that rendered its data.
public struct CompanionFiles: Sendable {
    /// The tokenizer file (or its directory) whose tokenizer files are copied, if any.
    public var tokenizerPath: String?
    /// The chat template to record.
    public var template: ChatFormat?

    /// - Parameters:
    ///   - tokenizerPath: the tokenizer file.
    ///   - template: the chat template.
    public init(tokenizerPath: String?, template: ChatFormat?) {
        self.tokenizerPath = tokenizerPath
        self.template = template
    }

    /// Copies the tokenizer's files (`TokenizerFiles.companionNames`: tokenizer.model or
    /// tokenizer.json, tokenizer_config.json, the checkpoint's chat template) and writes
    /// `chat_template.json`. Beside a SentencePiece model of this tool's own (no
    /// `tokenizer_config.json`, or one this tool wrote) it also writes the
    /// `tokenizer_config.json` transformers needs to read the directory as this tool does; a
    /// checkpoint's own config (Llama 2's, say) is kept as it came.
    public func save(to directory: String) throws {
        if let tokenizerPath {
            try TokenizerFiles.copyCompanions(from: tokenizerPath, to: directory)
            let model = (directory as NSString).appendingPathComponent(TokenizerFiles.sentencePieceModel)
            let config = (directory as NSString).appendingPathComponent(TransformersTokenizerConfig.fileName)
            if FileManager.default.fileExists(atPath: model), TransformersTokenizerConfig.isAbsentOrOurs(config) {
                try TransformersTokenizerConfig.write(for: try SentencePieceTokenizer(contentsOf: model),
                                                      chatTemplate: template?.builtIn?.jinjaSource, to: directory)
            }
        }
        try template?.save(toDirectory: directory)
    }
}
