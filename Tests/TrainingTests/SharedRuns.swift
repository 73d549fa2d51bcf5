import Foundation
import Model
import Training

/// Runs several tests start from, trained once per test process: an SFT model on the demo
/// data (the reward-model and DPO tests start from it, as steps 2 and 3 start from step 1).
enum SharedRuns {
    struct SFTRun: Sendable {
        /// The final model's directory (with tokenizer and template).
        var directory: String
        /// The loss of every update.
        var losses: [Double]
        /// Eval loss on the assistant tokens of held-out pairs before and after training.
        var evalLossBefore: Double, evalLossAfter: Double
    }

    static var sft: SFTRun { get throws { try sftResult.get() } }

    /// A tiny model pre-trained (loss on every token) on the reverse and sort records of the
    /// demo data, prompt and chosen answer: long enough to learn to copy words from the prompt,
    /// which a reward model for these tasks builds on. Its directory.
    static var wordTaskBase: String { get throws { try wordTaskBaseResult.get() } }

    /// The demo file's lines whose `task` is reverse or sort, as a new JSONL file.
    static func wordTaskSubset(_ path: String) throws -> String {
        let kept = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            return ["reverse", "sort"].contains(object?["task"] ?? "")
        }
        let out = Fixture.temporaryDirectory("word-tasks") + "/" + (path as NSString).lastPathComponent
        try (kept.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        return out
    }

    private static let wordTaskBaseResult = Result<String, any Error> {
        let model = try Fixture.tinyModelDirectory(seed: 2, hidden: 64, layers: 2)
        let output = Fixture.temporaryDirectory("word-task-pt")
        var r = Fixture.recipe(model: model, output: output, trainSamples: 2000, evalSamples: 200)
        r.trainFile = [try wordTaskSubset(Fixture.demoTrain)]
        r.evalFile = try wordTaskSubset(Fixture.demoEval)
        r.perDeviceTrainBatchSize = 16
        r.numTrainEpochs = 32
        r.learningRate = 3e-3
        r.lrSchedulerType = "cosine"
        r.warmupRatio = 0.05
        r.saveSteps = 100_000
        try Fixture.trainer(.pt, r).train()
        return output
    }

    private static let sftResult = Result<SFTRun, any Error> {
        let model = try Fixture.tinyModelDirectory(seed: 1, hidden: 64, layers: 2)
        let output = Fixture.temporaryDirectory("shared-sft")
        var r = Fixture.recipe(model: model, output: output, trainSamples: 3000, evalSamples: 200)
        r.perDeviceTrainBatchSize = 16
        r.numTrainEpochs = 2
        r.learningRate = 3e-3
        r.lrSchedulerType = "cosine"
        r.warmupRatio = 0.05
        r.saveSteps = 100_000  // only the final checkpoint
        let trainer = try Fixture.trainer(.sft, r)
        let before = trainer.objective.evaluate()["eval_loss"]!
        var losses: [Double] = []
        while trainer.state.globalStep < trainer.totalSteps { losses.append(trainer.step().0.loss) }
        try trainer.train()  // nothing left to run: evaluates and saves
        return SFTRun(directory: output, losses: losses, evalLossBefore: before,
                      evalLossAfter: trainer.state.logHistory.last { $0["eval_loss"] != nil }!["eval_loss"]!)
    }
}
