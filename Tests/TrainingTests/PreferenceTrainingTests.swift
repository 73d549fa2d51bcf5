import Foundation
import Training
import XCTest

/// Step 2 and DPO on the demo pairs: the reward model from the shared base model, DPO from the
/// shared SFT model.
final class PreferenceTrainingTests: XCTestCase {
    /// The figure: at least 0.9 pair accuracy on the held-out pairs of all five demo
    /// tasks, from a small model pre-trained on the demo text (the quickstart's chain, smaller).
    func testRewardModel_ranksHeldOutPairsOfAllDemoTasks() throws {
        let r = Fixture.epochRecipe(model: try SharedRuns.demoBase, output: nil, trainSamples: 5000, evalSamples: 500,
                                    epochs: 6, learningRate: 1e-3)
        let trainer = try Fixture.trainer(.rm, r)
        let before = trainer.objective.evaluate()["eval_accuracy"]!
        let summary = try trainer.train()
        print("reward model on the held-out pairs of all demo tasks: \(summary.evaluation)")
        XCTAssertGreaterThanOrEqual(summary.evaluation["eval_accuracy"]!, 0.9,
                                    "pair accuracy on the 500 held-out demo pairs (before training: \(before))")
    }

    func testDPO_widensTheChosenRejectedMargin() throws {
        let sft = try SharedRuns.sft
        var r = Fixture.recipe(model: sft.directory, output: nil, trainSamples: 800, evalSamples: 200)
        r.perDeviceTrainBatchSize = 8
        r.maxSteps = 60
        r.learningRate = 1e-3
        r.beta = 0.1
        let trainer = try Fixture.trainer(.dpo, r)
        let before = trainer.objective.evaluate()
        XCTAssertEqual(before["eval_rewards/margins"]!, 0, accuracy: 1e-6, "the policy starts as its reference")
        let after = try trainer.train().evaluation
        let margin = after["eval_rewards/margins"]!
        print("DPO on held-out pairs: \(after)")
        // margins = β ((log π_θ(y_w) - log π_θ(y_l)) - (log π_ref(y_w) - log π_ref(y_l))): positive when
        // the policy's chosen-minus-rejected gap is wider than the reference's.
        XCTAssertGreaterThan(margin, 0.2, "held-out reward margin β·Δlog-ratio after DPO")
        XCTAssertGreaterThan(after["eval_rewards/accuracies"]!, 0.6)
        XCTAssertLessThan(after["eval_loss"]!, before["eval_loss"]!)
    }

    func testIPO_lowersItsLoss() throws {
        let sft = try SharedRuns.sft
        var r = Fixture.recipe(model: sft.directory, output: nil, trainSamples: 200, evalSamples: 100)
        r.maxSteps = 20
        r.learningRate = 2e-4
        r.lossType = "ipo"
        r.beta = 0.5
        let trainer = try Fixture.trainer(.dpo, r)
        let before = trainer.objective.evaluate()["eval_loss"]!
        XCTAssertEqual(before, 1.0, accuracy: 1e-6, "(0 - 1/(2β))² at the start")
        var losses: [Double] = []
        while trainer.state.globalStep < trainer.totalSteps { losses.append(trainer.step().0.loss) }
        let after = trainer.objective.evaluate()["eval_loss"]!
        print("IPO: training loss \(losses.first!) -> \(losses.suffix(5).reduce(0, +) / 5), eval loss \(before) -> \(after)")
        XCTAssertLessThan(losses.suffix(5).reduce(0, +) / 5, losses[0])
        XCTAssertLessThan(after, before)
    }
}
