import Foundation
import Model
import Training
import XCTest

/// Exact resume for the stages the SFT resume tests do not cover: pre-training, the full reward
/// model, DPO and DPO with LoRA. Each crashes two updates after a checkpoint, past metrics lines,
/// and resumes (`Fixture.straightAndResumed` checks the bits and the metrics log).
final class StageResumeTests: XCTestCase {
    /// 48 records in micro-batches of 4, two per update, a checkpoint at 4, evaluations every 3,
    /// a metrics line every 2: the crash at 6 leaves lines to drop, and the run crosses epochs.
    private func recipe(_ model: String, _ output: String) -> TrainingRecipe {
        var r = Fixture.recipe(model: model, output: output, trainSamples: 48, evalSamples: 8)
        r.maxSteps = 8
        r.perDeviceTrainBatchSize = 4
        r.gradientAccumulationSteps = 2
        r.lrSchedulerType = "cosine"
        r.warmupSteps = 2
        r.weightDecay = 0.1
        r.saveSteps = 4
        r.evalSteps = 3
        r.loggingSteps = 2
        return r
    }

    /// pt from a directory with config.json and no weights (random weights drawn with `seed`):
    /// the resumed run continues the checkpoint's weights, not new random ones.
    func testResumePretraining_isExact() throws {
        let model = try Fixture.tinyModelDirectory(seed: 21, hidden: 32, layers: 1)
        try FileManager.default.removeItem(atPath: model + "/model.safetensors")
        let runs = try Fixture.straightAndResumed(.pt, checkpoint: 4, lost: 2) { output in
            var r = recipe(model, output)
            r.neftuneNoiseAlpha = 5
            return r
        }
        XCTAssertGreaterThan(runs.straight.state.epoch, 1, "the run crosses epochs")
    }

    /// rm from a causal LM: the score head is drawn with `seed` at the start; the checkpoint's
    /// trained head replaces it on resume.
    func testResumeRewardModel_isExact() throws {
        let model = try Fixture.tinyModelDirectory(seed: 22, hidden: 32, layers: 1)
        let runs = try Fixture.straightAndResumed(.rm, checkpoint: 4, lost: 2) { recipe(model, $0) }
        let objective = try XCTUnwrap(runs.resumed.objective as? RewardModelObjective)
        XCTAssertNotNil(objective.model.layout.score)
    }

    /// DPO with a reference other than the starting policy: the policy resumes from the
    /// checkpoint, the reference is read again from `ref_model_name_or_path`, and both end as in
    /// the straight run (the reference as it was loaded: it never trains).
    func testResumeDPO_isExactForPolicyAndReference() throws {
        let policy = try Fixture.tinyModelDirectory(seed: 23, hidden: 32, layers: 1)
        let reference = try Fixture.tinyModelDirectory(seed: 24, hidden: 32, layers: 1)
        let runs = try Fixture.straightAndResumed(.dpo, checkpoint: 4, lost: 2) { output in
            var r = recipe(policy, output)
            r.refModelNameOrPath = reference
            return r
        }
        try assertReferences(runs, equal: reference)
    }

    /// LoRA DPO: adapters (with dropout draws) on the frozen policy base, the reference a
    /// separate frozen copy of the base.
    func testResumeDPOWithLoRA_isExact() throws {
        let model = try Fixture.tinyModelDirectory(seed: 25, hidden: 32, layers: 1)
        let runs = try Fixture.straightAndResumed(.dpo, checkpoint: 4, lost: 2) { output in
            var r = recipe(model, output)
            r.useLora = true
            r.loraR = 4
            r.loraDropout = 0.1
            r.loraTargetModules = ["all-linear"]
            return r
        }
        XCTAssertNotNil(runs.resumed.objective.trainable as? LoRAParameters)
        try assertReferences(runs, equal: model)
        let base = try Llama.load(directory: model).parameters.array
        let policy = try XCTUnwrap(runs.resumed.objective as? PreferenceObjective).policy
        XCTAssertEqual(Fixture.differingBits(policy.parameters.array, base), 0, "the policy's base stays frozen")
    }

    /// Both runs' references hold the weights saved in `directory`, bit for bit.
    private func assertReferences(_ runs: ResumedRuns, equal directory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let saved = try Llama.load(directory: directory).parameters.array
        for (name, trainer) in [("straight", runs.straight), ("resumed", runs.resumed)] {
            let objective = try XCTUnwrap(trainer.objective as? PreferenceObjective, file: file, line: line)
            XCTAssertEqual(Fixture.differingBits(objective.reference.parameters.array, saved), 0, "\(name) run's reference", file: file, line: line)
        }
    }
}
