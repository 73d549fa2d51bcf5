import Foundation
import Model
import Tensor
import Training
import TestSupport
import XCTest

/// The shared loop on the demo data with tiny models: SFT learns, gradient accumulation does
/// not change the gradient, resume is exact, checkpoints load back.
final class TrainerTests: XCTestCase {
    func testSFT_lossFallsOnTheDemoData() throws {
        let run = try SharedRuns.sft
        let losses = run.losses
        XCTAssertGreaterThan(losses.count, 10)
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        let curve = stride(from: 0, to: losses.count, by: max(1, losses.count / 8)).map { String(format: "%.3f", losses[$0]) }
        print("SFT on the demo data, loss every \(max(1, losses.count / 8)) updates: \(curve.joined(separator: " ")); eval loss \(run.evalLossBefore) -> \(run.evalLossAfter)")
        XCTAssertLessThan(last, first * 0.6, "SFT loss: first updates \(first), last updates \(last)")
        XCTAssertLessThan(run.evalLossAfter, run.evalLossBefore * 0.7,
                          "eval loss on assistant tokens: \(run.evalLossBefore) before, \(run.evalLossAfter) after")
    }

    // MARK: - Gradient accumulation

    /// The gradient of `indices` as one micro-batch and as micro-batches of `split` examples.
    private func gradients(_ objective: any TrainingObjective, _ indices: [Int], split: Int) -> ([Float], [Float]) {
        var rng = SplitMix64(seed: 1)
        let g = objective.trainable.gradients
        g.zero()
        _ = objective.accumulateGradients(microBatches: [indices], rng: &rng)
        let whole = g.array
        g.zero()
        let parts = stride(from: 0, to: indices.count, by: split).map { Array(indices[$0..<min($0 + split, indices.count)]) }
        _ = objective.accumulateGradients(microBatches: parts, rng: &rng)
        return (whole, g.array)
    }

    func testGradientAccumulation_givesTheSameGradientAsOneBatch() throws {
        let model = try Fixture.tinyModelDirectory(seed: 3)
        for stage in [TrainingStage.sft, .rm, .dpo] {
            var r = Fixture.recipe(model: model, output: nil, trainSamples: 40, evalSamples: 10)
            r.perDeviceTrainBatchSize = 2
            let objective = try TrainingSession.prepare(ResolvedRecipe(stage: stage, recipe: r)).objective
            if let dpo = objective as? PreferenceObjective {
                // Move the policy off the reference so the DPO gradient is not the trivial one at h = 0.
                let p = dpo.policy.parameters.pointer
                for i in stride(from: 0, to: dpo.policy.parameterCount, by: 7) { p[i] *= 1.05 }
            }
            // Rows of different lengths, so the micro-batches pad differently from the whole.
            let (whole, split) = gradients(objective, [0, 5, 9, 13, 21, 30], split: 2)
            let scale = Float(Closeness.largestMagnitude(whole))
            XCTAssertGreaterThan(scale, 0, "\(stage): no gradient")
            assertClose(split, whole, atol: 1e-5 * scale, rtol: 1e-3, "\(stage) gradient, 3 micro-batches vs 1")
        }
    }

    // MARK: - Resume

    func testResume_reachesTheSameWeightsBitForBit() throws {
        try checkResume(groupByLength: false)
    }

    func testResume_withBatchesGroupedByLength_reachesTheSameWeightsBitForBit() throws {
        try checkResume(groupByLength: true)
    }

    /// NEFTune draws its noise from the run's generator, which checkpoints save.
    func testResume_withNEFTune_reachesTheSameWeightsBitForBit() throws {
        try checkResume(neftune: 5)
    }

    func testNEFTune_changesTheUpdatesDeterministically() throws {
        let model = try Fixture.tinyModelDirectory(seed: 4)
        func weights(_ alpha: Double?) throws -> [Float] {
            var r = Fixture.recipe(model: model, output: nil, trainSamples: 32, evalSamples: 8)
            r.maxSteps = 3
            r.neftuneNoiseAlpha = alpha
            let trainer = try Fixture.trainer(.sft, r)
            try trainer.train()
            return Fixture.weights(trainer)
        }
        let plain = try weights(nil)
        XCTAssertEqual(try weights(0), plain, "alpha 0 is no noise")
        let noisy = try weights(5)
        XCTAssertNotEqual(noisy, plain)
        XCTAssertEqual(try weights(5), noisy, "the same seed gives the same bits")
    }

    private func checkResume(groupByLength: Bool = false, neftune: Double? = nil) throws {
        let model = try Fixture.tinyModelDirectory(seed: 4)
        func recipe(_ output: String, maxSteps: Int) -> TrainingRecipe {
            var r = Fixture.recipe(model: model, output: output, trainSamples: 48, evalSamples: 16)
            r.maxSteps = maxSteps
            r.gradientAccumulationSteps = 2
            r.perDeviceTrainBatchSize = 4  // 12 micro-batches an epoch: the run crosses epochs
            r.lrSchedulerType = "cosine"
            r.warmupSteps = 2
            r.weightDecay = 0.1
            r.saveSteps = 4
            r.evalSteps = 3
            r.loggingSteps = 2
            r.groupByLength = groupByLength
            r.neftuneNoiseAlpha = neftune
            return r
        }
        // The crash comes two updates after the checkpoint at step 4, past an evaluation and a
        // logging step, in the second epoch; the resumed run is planned for 10 like the straight one.
        let runs = try Fixture.straightAndResumed(.sft, checkpoint: 4, lost: 2) { recipe($0, maxSteps: 10) }
        XCTAssertEqual(runs.resumed.state.globalStep, 10)
        XCTAssertGreaterThan(runs.resumed.state.epoch, 1, "the run crosses epochs")
        let evalSteps = try Fixture.metricsLines(runs.output).filter { $0["eval_loss"] != nil }.map(Fixture.step)
        XCTAssertEqual(evalSteps, [3, 6, 9, 10], "evaluations of the resumed run's log")
    }

    func testStartingAgainInAnOutputDirWithCheckpoints_isRefusedUnlessOverwriting() throws {
        let model = try Fixture.tinyModelDirectory(seed: 5)
        let output = Fixture.temporaryDirectory("exists")
        var r = Fixture.recipe(model: model, output: output, trainSamples: 16, evalSamples: 8)
        r.maxSteps = 2
        r.saveSteps = 1
        r.saveTotalLimit = 1
        try Fixture.trainer(.sft, r).train()
        XCTAssertEqual(RunDirectory(path: output).checkpoints().map(\.step), [2], "save_total_limit 1 keeps the newest")
        XCTAssertThrowsError(try Fixture.trainer(.sft, r)) { XCTAssertEqual($0 as? TrainingError, TrainingError(.outputExists, "")) }
        r.overwriteOutputDir = true
        XCTAssertNoThrow(try Fixture.trainer(.sft, r))
    }

    // MARK: - Checkpoints

    func testCheckpoints_loadBackWithIdenticalOutputs() throws {
        let model = try Fixture.tinyModelDirectory(seed: 6)
        for stage in [TrainingStage.sft, .rm] {
            let output = Fixture.temporaryDirectory("ckpt-\(stage)")
            var r = Fixture.recipe(model: model, output: output, trainSamples: 32, evalSamples: 8)
            r.maxSteps = 3
            let trainer = try Fixture.trainer(stage, r)
            try trainer.train()
            let checkpoint = output + "/checkpoint-3"
            for file in ["config.json", "model.safetensors", "optimizer.safetensors", "rng_state.json", "trainer_state.json",
                         "recipe.yaml", "tokenizer.model", "chat_template.json", "chat_template.jinja", "tokenizer_config.json"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint + "/" + file), "\(stage): \(file) missing")
            }
            let trained: Llama = stage == .rm ? (trainer.objective as! RewardModelObjective).model
                                              : (trainer.objective as! LanguageModelObjective).model
            for dir in [checkpoint, output] {
                let loaded = try Llama.load(directory: dir)
                XCTAssertEqual(loaded.config.architecture, stage == .rm ? "LlamaForSequenceClassification" : "LlamaForCausalLM")
                XCTAssertEqual(loaded.parameters.array, trained.parameters.array, "\(stage): \(dir) weights")
                let B = 2, T = 9
                let ids: [Int32] = (0..<(B * T)).map { Int32(4 + $0 * 7 % 300) }
                let targets: [Int32] = (0..<(B * T)).map { $0 % T == T - 1 ? -1 : ids[$0 + 1] }
                var outputs: [[Float]] = []
                for m in [trained, loaded] {
                    let acts = TrainingActivations(model: m, B: B, T: T, withLogits: stage != .rm)
                    m.forward(ids: ids, acts: acts)
                    if stage == .rm {
                        outputs.append(m.scoreForward(lengths: [9, 5], acts: acts))
                    } else {
                        m.languageModelForward(targets: targets, acts: acts)
                        outputs.append(acts.logprobs.array)
                    }
                }
                XCTAssertEqual(outputs[0], outputs[1], "\(stage): outputs of \(dir)")
            }
            if stage == .rm {
                let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint + "/config.json"))) as! [String: Any]
                XCTAssertEqual(config["pad_token_id"] as? Int, 3)
                XCTAssertEqual((config["id2label"] as? [String: String])?.count, 1, "num_labels 1, as transformers derives it")
            }
        }
    }
}
