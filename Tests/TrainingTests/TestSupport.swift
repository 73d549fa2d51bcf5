import Foundation
import Model
import Tokenization
import Training
import TestSupport
import XCTest

/// Shared fixtures: the demo data, a SentencePiece tokenizer trained on it once per test run, and
/// tiny random models saved as HF directories beside that tokenizer.
enum Fixture {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let demoTrain = repositoryRoot + "/data/demo/train.jsonl"
    static let demoEval = repositoryRoot + "/data/demo/eval.jsonl"

    /// A directory holding `tokenizer.model`: BPE, 640 pieces, trained on the demo prompts and
    /// answers rendered as the deepspeed-chat template renders them.
    static let tokenizerDirectory: String = {
        let dir = temporaryDirectory("tokenizer")
        let corpus = dir + "/corpus.txt"
        var lines: [String] = []
        let text = (try? String(contentsOfFile: demoTrain, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else { continue }
            lines.append(" Human: \(object["prompt"]!) Assistant: \(object["chosen"]!)")
            lines.append(object["rejected"]!)
        }
        try! lines.joined(separator: "\n").write(toFile: corpus, atomically: true, encoding: .utf8)
        var trainer = TokenizerTrainer(inputFiles: [corpus], vocabSize: 640)
        trainer.characterCoverage = 1  // as the quickstart: the demo's small alphabet keeps every character
        try! trainer.train(outputDirectory: dir)
        return dir
    }()

    /// A fresh directory under the system's temporary directory.
    static func temporaryDirectory(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "rlhf-training-tests/\(name)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The configuration of the tiny test models.
    static func tinyConfig(hidden: Int = 64, layers: Int = 2, heads: Int = 4, kvHeads: Int = 2) -> LlamaConfig {
        var c = LlamaConfig(vocabSize: 640, hiddenSize: hidden, intermediateSize: hidden * 2, numHiddenLayers: layers,
                            numAttentionHeads: heads, numKeyValueHeads: kvHeads, maxPositionEmbeddings: 128)
        c.bosTokenID = 1
        c.eosTokenID = 2
        c.eosTokenIDs = [2]
        c.padTokenID = 3
        return c
    }

    /// A random tiny causal LM saved with the test tokenizer; returns its directory.
    static func tinyModelDirectory(seed: UInt64 = 7, hidden: Int = 64, layers: Int = 2) throws -> String {
        let dir = temporaryDirectory("model")
        let model = Llama(config: tinyConfig(hidden: hidden, layers: layers))
        model.initializeRandom(seed: seed)
        try model.save(directory: dir)
        try FileManager.default.copyItem(atPath: tokenizerDirectory + "/tokenizer.model", toPath: dir + "/tokenizer.model")
        return dir
    }

    /// A recipe over the demo data with small, fast settings; callers adjust it.
    static func recipe(model: String, output: String?, trainSamples: Int, evalSamples: Int) -> TrainingRecipe {
        var r = TrainingRecipe()
        r.modelNameOrPath = model
        r.trainFile = [demoTrain]
        r.evalFile = demoEval
        r.maxTrainSamples = trainSamples
        r.maxEvalSamples = evalSamples
        r.outputDir = output ?? ""
        r.maxSeqLength = 64
        r.perDeviceTrainBatchSize = 8
        r.perDeviceEvalBatchSize = 32
        r.learningRate = 3e-3
        r.lrSchedulerType = "constant"
        r.loggingSteps = 1000
        r.saveSteps = 1000
        r.seed = 11
        return r
    }

    /// `recipe` for a run of whole epochs: micro-batches of 16, a cosine schedule with 5% warmup,
    /// no checkpoint but the final one; what the tests that need a trained model run.
    static func epochRecipe(model: String, output: String?, trainSamples: Int, evalSamples: Int,
                            epochs: Double, learningRate: Double) -> TrainingRecipe {
        var r = recipe(model: model, output: output, trainSamples: trainSamples, evalSamples: evalSamples)
        r.perDeviceTrainBatchSize = 16
        r.numTrainEpochs = epochs
        r.learningRate = learningRate
        r.lrSchedulerType = "cosine"
        r.warmupRatio = 0.05
        r.saveSteps = 100_000
        return r
    }

    /// The objective and a trainer for `recipe`, silent, writing to `recipe.outputDir` unless it is empty.
    static func trainer(_ stage: TrainingStage, _ recipe: TrainingRecipe) throws -> Trainer {
        let resolved = ResolvedRecipe(stage: stage, recipe: recipe)
        let prepared = try TrainingSession.prepare(resolved)
        var options = TrainerOptions(resolved)
        options.progress = .silent
        if recipe.outputDir.isEmpty { options.outputDir = nil }
        return try Trainer(objective: prepared.objective, options: options)
    }

    /// The parameter block as an array, to compare runs.
    static func weights(_ trainer: Trainer) -> [Float] { trainer.objective.trainable.values.array }
}

/// Asserts |a - b| <= atol + rtol |b| element-wise, every element finite (`Closeness`).
func assertClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    let c = Closeness(a, b, atol: Double(atol), rtol: Double(rtol))
    XCTAssertTrue(c.passed, "\(what): \(c)", file: file, line: line)
}
