import Foundation
import Model
import Training

/// Runs several tests start from, trained once per test process: an SFT model on the demo
/// data (the DPO tests start from it, as step 3 starts from step 1), and a base model
/// pre-trained on the demo text (the reward-model test starts from it).
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

    /// A small model pre-trained (loss on every token) on all the demo training records, prompt
    /// and chosen answer, as the quickstart's base is. Its directory.
    static var demoBase: String { get throws { try demoBaseResult.get() } }

    private static let demoBaseResult = Result<String, any Error> {
        let model = try Fixture.tinyModelDirectory(seed: 3, hidden: 64, layers: 2)
        let output = Fixture.temporaryDirectory("demo-pt")
        let r = Fixture.epochRecipe(model: model, output: output, trainSamples: 5000, evalSamples: 200, epochs: 16, learningRate: 1e-3)
        try Fixture.trainer(.pt, r).train()
        return output
    }

    private static let sftResult = Result<SFTRun, any Error> {
        let model = try Fixture.tinyModelDirectory(seed: 1, hidden: 64, layers: 2)
        let output = Fixture.temporaryDirectory("shared-sft")
        let r = Fixture.epochRecipe(model: model, output: output, trainSamples: 3000, evalSamples: 200, epochs: 2, learningRate: 3e-3)
        let trainer = try Fixture.trainer(.sft, r)
        let before = trainer.objective.evaluate()["eval_loss"]!
        var losses: [Double] = []
        while trainer.state.globalStep < trainer.totalSteps { losses.append(trainer.step().0.loss) }
        try trainer.train()  // nothing left to run: evaluates and saves
        return SFTRun(directory: output, losses: losses, evalLossBefore: before,
                      evalLossAfter: trainer.state.logHistory.last { $0["eval_loss"] != nil }!["eval_loss"]!)
    }
}
