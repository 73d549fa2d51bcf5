import Model
import Tensor
import TestSupport
import XCTest

/// The same seeds and thread counts give the same bits.
final class DeterminismTests: XCTestCase {
    func trainThreeSteps() -> [Float] {
        let cfg = LlamaConfig(vocabSize: 50, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4,
                              numKeyValueHeads: 2, maxPositionEmbeddings: 64)
        let model = Llama(config: cfg)
        model.initializeRandom(seed: 11)
        let B = 4, T = 24, N = B * T  // N above Linear.smallRows: the sgemm paths run
        let acts = TrainingActivations(model: model, B: B, T: T)
        var rng = SplitMix64(seed: 12)
        let ids = (0..<N).map { _ in Int32(rng.next() % 50) }
        let targets = (0..<N).map { $0 % T == T - 1 ? Int32(-1) : ids[$0 + 1] }
        var dlogp = [Float](repeating: 0, count: N)
        let grads = model.enableGradients()
        let opt = AdamW(layout: model.layout, hyperparameters: .init(weightDecay: 0.1))
        for _ in 0..<3 {
            model.forward(ids: ids, acts: acts)
            model.languageModelForward(targets: targets, acts: acts, keepLogits: false)
            _ = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: targets, N: N)
            grads.zero()
            model.languageModelBackward(dlogprobs: dlogp, targets: targets, acts: acts)
            model.backward(acts: acts)
            GradientClipping.clip(grads, maxNorm: 1)
            opt.update(parameters: model.parameters, gradients: grads, lr: 1e-3)
        }
        return model.parameters.array
    }

    func testTrainingSteps_areBitIdenticalAcrossRuns() {
        let a = trainThreeSteps(), b = trainThreeSteps()
        XCTAssertTrue(a == b, "two identical runs differ")
    }
}

final class LanguageModelHeadTests: XCTestCase {
    /// The chunked LM head (logits made 256 rows at a time, recomputed in backward) gives the same
    /// log-probs and gradients as keeping all logits, over several chunks.
    func testChunkedHead_matchesKeptLogits() {
        let cfg = LlamaConfig(vocabSize: 70, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 2,
                              maxPositionEmbeddings: 400)
        let model = Llama(config: cfg)
        model.initializeRandom(seed: 2, std: 0.3)
        let B = 2, T = 300, N = B * T  // 600 rows: chunks of 256, 256, 88
        var rng = SplitMix64(seed: 3)
        let ids = (0..<N).map { _ in Int32(rng.next() % 70) }
        let targets = (0..<N).map { $0 % 7 == 0 ? Int32(-1) : Int32(rng.next() % 70) }
        var results: [([Float], [Float])] = []
        for keep in [true, false] {
            let acts = TrainingActivations(model: model, B: B, T: T, withLogits: keep)
            model.forward(ids: ids, acts: acts)
            model.languageModelForward(targets: targets, acts: acts, keepLogits: keep)
            var dlogp = [Float](repeating: 0, count: N)
            _ = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: targets, N: N)
            let g = model.enableGradients()
            g.zero()
            model.languageModelBackward(dlogprobs: dlogp, targets: targets, acts: acts)
            model.backward(acts: acts)
            results.append((acts.logprobs.array, g.array))
        }
        let logprobs = Closeness(results[0].0, results[1].0, atol: 1e-5)
        XCTAssertTrue(logprobs.passed, "log-probs, kept vs chunked: \(logprobs)")
        let gradients = Closeness(results[0].1, results[1].1, atol: 1e-5)
        XCTAssertTrue(gradients.passed, "gradients, kept vs chunked: \(gradients)")
    }
}
