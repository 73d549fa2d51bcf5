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

    /// A metrics line every update: the resume tests crash after lines past the checkpoint.
    private func loggingEveryStep(_ recipe: TrainingRecipe) -> TrainingRecipe {
        var r = recipe
        r.loggingSteps = 1
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
        try Fixture.straightAndResumed(.sft, checkpoint: 3, lost: 1) { loggingEveryStep(recipe(model, $0, maxSteps: 8)) }
    }

    // MARK: - Reward models

    /// rm with LoRA from a causal LM: the adapters and the score head train, the decoder and the
    /// model's own head stay frozen (no base gradient block), the adapter directory is PEFT's
    /// SEQ_CLS with the head under `base_model.model.score.weight`, and the merged model scores
    /// as the adapted one does.
    func testRewardModelWithLoRA_trainsAdaptersAndScoreHeadAndMergesToTheSameScores() throws {
        let model = try Fixture.tinyModelDirectory(seed: 12)
        let output = Fixture.temporaryDirectory("lora-rm")
        let trainer = try Fixture.trainer(.rm, recipe(model, output, maxSteps: 6))
        let lora = try XCTUnwrap(trainer.objective.trainable as? LoRAParameters)
        let objective = try XCTUnwrap(trainer.objective as? RewardModelObjective)
        let scoreEntry = try XCTUnwrap(lora.model.layout.entry(named: "score.weight"))
        let headOffset = try XCTUnwrap(lora.adapters.layout.scoreHead)
        XCTAssertEqual(lora.adapters.config.taskType, .sequenceClassification)
        XCTAssertEqual(lora.adapters.config.modulesToSave, ["score"])
        XCTAssertEqual(lora.adapters.layout.entries.last?.name, "base_model.model.score.weight")
        let base = lora.model.parameters.array
        let head = Array(UnsafeBufferPointer(start: lora.adapters.parameters[headOffset], count: scoreEntry.count))
        XCTAssertEqual(head, Array(base[scoreEntry.offset..<(scoreEntry.offset + scoreEntry.count)]), "the copy starts as the model's head")
        try trainer.train()
        XCTAssertEqual(lora.model.parameters.array, base, "the base, its score head included, stays frozen")
        XCTAssertNil(lora.model.gradients, "no base gradient block when only adapters train")
        let trainedHead = Array(UnsafeBufferPointer(start: lora.adapters.parameters[headOffset], count: scoreEntry.count))
        XCTAssertNotEqual(trainedHead, head, "the score head trains")

        let fm = FileManager.default
        for dir in [output + "/checkpoint-6", output] {
            XCTAssertFalse(fm.fileExists(atPath: dir + "/model.safetensors"), dir)
            let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_config.json"))) as? [String: Any])
            XCTAssertEqual(config["task_type"] as? String, "SEQ_CLS")
            XCTAssertEqual(config["modules_to_save"] as? [String], ["score"])
            let tensors = try SafeTensors.read(contentsOf: dir + "/adapter_model.safetensors")
            XCTAssertEqual(tensors["base_model.model.score.weight"]?.shape, [1, scoreEntry.count])
            XCTAssertEqual(tensors["base_model.model.score.weight"]?.data, trainedHead)
        }

        // Merged into the causal-LM base it names, the model scores what the adapted one scored.
        lora.setTraining(false)
        let adapted = Evaluation.rewardScores(model: lora.model, examples: objective.eval, batchSize: 8, padID: 3,
                                              pool: ActivationPool(model: lora.model))
        let merged = try Llama.load(directory: model).forAdapters(directory: output)
        XCTAssertEqual(merged.layout.head, .score(labels: 1))
        try merged.loadAdapters(directory: output)
        merged.mergeAdapters()
        XCTAssertNil(merged.adapters)
        let mergedScores = Evaluation.rewardScores(model: merged, examples: objective.eval, batchSize: 8, padID: 3,
                                                   pool: ActivationPool(model: merged))
        assertClose(mergedScores.chosen + mergedScores.rejected, adapted.chosen + adapted.rejected, atol: 1e-5, rtol: 0, "merged scores")
    }

    func testResumeRewardModelWithLoRA_isExact() throws {
        let model = try Fixture.tinyModelDirectory(seed: 13)
        try Fixture.straightAndResumed(.rm, checkpoint: 3, lost: 1) { loggingEveryStep(recipe(model, $0, maxSteps: 8)) }
    }
}
