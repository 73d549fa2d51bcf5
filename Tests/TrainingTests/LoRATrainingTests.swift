import Foundation
import Model
import Training
import XCTest

/// `use_lora`: the same loop updating only the adapters through `LoRAParameters`.
final class LoRATrainingTests: XCTestCase {
    private func recipe(_ model: String, _ output: String, maxSteps: Int) -> TrainingRecipe {
        var r = Fixture.recipe(model: model, output: output, trainSamples: 64, evalSamples: 16)
        r.useLora = true
        r.loraR = 4
        r.loraAlpha = 8
        r.loraDropout = 0.1  // dropout draws: resume must restore their counter
        r.loraTargetModules = ["all-linear"]
        r.maxSteps = maxSteps
        r.saveSteps = 3
        r.learningRate = 5e-3
        return r
    }

    func testSFTWithLoRA_trainsOnlyTheAdaptersAndSavesThemInPEFTLayout() throws {
        let model = try Fixture.tinyModelDirectory(seed: 8)
        let output = Fixture.temporaryDirectory("lora")
        let trainer = try Fixture.trainer(.sft, recipe(model, output, maxSteps: 12))
        let lora = try XCTUnwrap(trainer.objective.trainable as? LoRAParameters)
        let base = lora.model.parameters.array
        var losses: [Double] = []
        while trainer.state.globalStep < trainer.totalSteps { losses.append(trainer.step().0.loss) }
        try trainer.saveCheckpoint()
        try trainer.train()  // nothing left to run: evaluates and saves the final adapters
        XCTAssertEqual(lora.model.parameters.array, base, "the base stays frozen")
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "loss \(losses)")
        let fm = FileManager.default
        for dir in [output + "/checkpoint-12", output] {
            XCTAssertTrue(fm.fileExists(atPath: dir + "/adapter_config.json"), dir)
            XCTAssertTrue(fm.fileExists(atPath: dir + "/adapter_model.safetensors"), dir)
            XCTAssertFalse(fm.fileExists(atPath: dir + "/model.safetensors"), "\(dir): no copy of the frozen base")
        }
        // The saved adapters on the base compute what the trained ones did.
        let reloaded = try Llama.load(directory: model)
        try reloaded.loadAdapters(directory: output)
        XCTAssertEqual(reloaded.adapters!.parameters.array, lora.adapters.parameters.array)
    }

    func testResumeWithLoRADropout_isExact() throws {
        let model = try Fixture.tinyModelDirectory(seed: 9)
        let straight = try Fixture.trainer(.sft, recipe(model, Fixture.temporaryDirectory("lora-straight"), maxSteps: 8))
        try straight.train()
        let output = Fixture.temporaryDirectory("lora-resumed")
        let first = try Fixture.trainer(.sft, recipe(model, output, maxSteps: 8))
        for _ in 0..<3 { _ = first.step() }
        try first.saveCheckpoint()
        var again = recipe(model, output, maxSteps: 8)
        again.resumeFromCheckpoint = "latest"
        let resumed = try Fixture.trainer(.sft, again)
        try resumed.train()
        let a = Fixture.weights(straight), b = Fixture.weights(resumed)
        XCTAssertEqual(zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count, 0, "adapter weights differ after resuming")
    }
}
