import Foundation
import Model
import Tensor
import Training
import XCTest

/// The optimizer step on its own: fed gradients from outside any dataset loop.
final class OptimizerStepTests: XCTestCase {
    static let config = LlamaConfig(vocabSize: 40, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4,
                                    numKeyValueHeads: 2, maxPositionEmbeddings: 32)

    /// A model and an optimizer step over all its weights: warmup then linear decay, clipping at 0.5.
    static func make(maxGradNorm: Double = 0.5) -> (Llama, OptimizerStep) {
        let model = Llama(config: config)
        model.initializeRandom(seed: 4)
        let schedule = LearningRateSchedule(kind: .linear, learningRate: 3e-3, warmupSteps: 2, totalSteps: 8)
        let step = OptimizerStep(parameters: FullParameters(model: model), adam: .init(weightDecay: 0.05), schedule: schedule,
                                 maxGradNorm: maxGradNorm)
        return (model, step)
    }

    /// Sums the language-model gradient of two micro-batches (each a different slice of a seeded
    /// stream, the loss normalised over both) into the step's gradients: what a PPO trainer does
    /// with experience batches.
    static func accumulate(_ model: Llama, _ step: OptimizerStep, update: Int) {
        step.zeroGradients()
        let B = 2, T = 12, N = B * T
        let acts = TrainingActivations(model: model, B: B, T: T)
        for micro in 0..<2 {
            var rng = SplitMix64(seed: UInt64(100 + update * 2 + micro))
            let ids = (0..<N).map { _ in Int32(rng.next() % 40) }
            let targets = (0..<N).map { $0 % T == T - 1 ? Int32(-1) : ids[$0 + 1] }
            var dlogp = [Float](repeating: 0, count: N)
            model.forward(ids: ids, acts: acts)
            model.languageModelForward(targets: targets, acts: acts, keepLogits: false)
            _ = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: targets, N: N)
            for i in 0..<N { dlogp[i] *= 0.5 }  // two micro-batches: each carries half the loss
            model.languageModelBackward(dlogprobs: dlogp, targets: targets, acts: acts)
            model.backward(acts: acts)
        }
    }

    /// Saved after two updates and restored into a fresh model and step, the run continues to the
    /// same weights, moments and update count, bit for bit, as the run that never stopped.
    func testSaveAndRestore_continuesBitForBit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("optimizer-step-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, step) = Self.make()
        for u in 0..<2 {
            Self.accumulate(model, step, update: u)
            step.apply()
        }
        try model.save(directory: dir)
        try step.save(toDirectory: dir)
        for u in 2..<5 {
            Self.accumulate(model, step, update: u)
            step.apply()
        }
        let (resumed, resumedStep) = Self.make()
        try resumedStep.parameters.restore(from: dir)
        try resumedStep.restore(fromDirectory: dir)
        XCTAssertEqual(resumedStep.step, 2)
        for u in 2..<5 {
            Self.accumulate(resumed, resumedStep, update: u)
            resumedStep.apply()
        }
        XCTAssertEqual(resumedStep.step, 5)
        XCTAssertTrue(resumed.parameters.array == model.parameters.array, "weights differ after the restore")
        XCTAssertTrue(resumedStep.optimizer.m.array == step.optimizer.m.array, "first moments differ")
        XCTAssertTrue(resumedStep.optimizer.v.array == step.optimizer.v.array, "second moments differ")
    }

    /// Each update clips the global norm (or, at 0, only measures it) and applies AdamW at the
    /// schedule's rate for its index: the same bits as clipping and AdamW called by hand.
    func testApply_clipsAndFollowsTheSchedule() {
        for maxNorm in [0.5, 0.0] {
            let (model, step) = Self.make(maxGradNorm: maxNorm)
            let reference = Llama(config: Self.config)
            reference.initializeRandom(seed: 4)
            let adam = AdamW(layout: reference.layout, hyperparameters: .init(weightDecay: 0.05))
            for u in 0..<4 {
                Self.accumulate(model, step, update: u)
                let grads = step.gradients.array
                let norm = GradientClipping.globalNorm(step.gradients)
                let result = step.apply()
                XCTAssertEqual(result.gradNorm, Double(norm), "update \(u)")
                XCTAssertEqual(result.learningRate, [0, 1.5e-3, 3e-3, 2.5e-3][u], accuracy: 1e-12, "update \(u)")
                let clipped = step.gradients.array
                if maxNorm > 0 && Double(norm) > maxNorm {
                    XCTAssertEqual(Double(GradientClipping.globalNorm(step.gradients)), maxNorm, accuracy: 1e-4, "update \(u)")
                } else {
                    XCTAssertTrue(clipped == grads, "update \(u): gradients changed without clipping")
                }
                // By hand, from the same gradients.
                let g = FloatBuffer(count: grads.count)
                grads.withUnsafeBufferPointer { g.pointer.update(from: $0.baseAddress!, count: grads.count) }
                if maxNorm > 0 { GradientClipping.clip(g, maxNorm: Float(maxNorm)) }
                adam.update(parameters: reference.parameters, gradients: g, lr: Float(step.schedule.learningRate(step: u)))
                XCTAssertTrue(reference.parameters.array == model.parameters.array, "update \(u), max norm \(maxNorm)")
            }
            XCTAssertEqual(step.step, 4)
            XCTAssertEqual(step.optimizer.step, 4)
        }
    }

    /// A state file without a moment, or without the update count, is refused with its path and name.
    func testRestore_namesWhatIsMissing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("optimizer-step-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (_, step) = Self.make()
        let path = (dir as NSString).appendingPathComponent(OptimizerStep.fileName)
        let name = step.parameters.tensors[0].name
        var tensors = try { () throws -> [String: HostTensor] in
            try step.save(toDirectory: dir)
            return try SafeTensors.read(contentsOf: path)
        }()
        tensors["exp_avg_sq." + name] = nil
        try SafeTensors.write(tensors, to: path, metadata: ["step": "3"])
        XCTAssertThrowsError(try step.restore(fromDirectory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("exp_avg_sq." + name) && text.contains(path), text)
        }
        try step.save(toDirectory: dir)
        try SafeTensors.write(try SafeTensors.read(contentsOf: path), to: path, metadata: [:])
        XCTAssertThrowsError(try step.restore(fromDirectory: dir)) { error in
            XCTAssertTrue("\(error)".contains("'step'"), "\(error)")
        }
    }
}
