import Model
import Tensor
import TestSupport
import XCTest

/// The whole model's backward against finite differences of its cross-entropy loss.
final class LlamaGradientTests: XCTestCase {
    static func tinyConfig(tied: Bool = false, bias: Bool = false) -> LlamaConfig {
        LlamaConfig(vocabSize: 13, hiddenSize: 8, intermediateSize: 12, numHiddenLayers: 2, numAttentionHeads: 2,
                    numKeyValueHeads: 1, headDim: 4, maxPositionEmbeddings: 32, rmsNormEps: 1e-5, ropeTheta: 10000,
                    tieWordEmbeddings: tied, attentionBias: bias)
    }

    func checkModel(tied: Bool, bias: Bool, keepLogits: Bool = true) {
        let model = Llama(config: Self.tinyConfig(tied: tied, bias: bias))
        model.initializeRandom(seed: 5, std: 0.5)
        let B = 2, T = 5
        let acts = TrainingActivations(model: model, B: B, T: T)
        var rng = SplitMix64(seed: 9)
        let ids: [Int32] = (0..<(B * T)).map { _ in Int32(rng.next() % 13) }
        // targets: next token, last position of each row ignored
        let targets: [Int32] = (0..<(B * T)).map { n in n % T == T - 1 ? -1 : ids[n + 1] }
        var dlogp = [Float](repeating: 0, count: B * T)
        func loss() -> Double {
            model.forward(ids: ids, acts: acts)
            model.languageModelForward(targets: targets, acts: acts)
            var total = 0.0, count = 0.0
            for n in 0..<(B * T) where targets[n] >= 0 {
                total -= Double(acts.logprobs[n].pointee)
                count += 1
            }
            return total / count
        }
        _ = loss()
        model.languageModelForward(targets: targets, acts: acts, keepLogits: keepLogits)
        _ = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: targets, N: B * T)
        let grads = model.enableGradients()
        grads.zero()
        model.languageModelBackward(dlogprobs: dlogp, targets: targets, acts: acts)
        model.backward(acts: acts)
        let analytic = grads.array
        let p = model.parameters.pointer
        let worst = BlockGradientCheck.compare(entries: model.layout.entries, values: p, analytic: analytic, perTensor: 6) { loss() }
        XCTAssertTrue(worst.passed, "\(worst)")
    }

    func testBackward_untied() { checkModel(tied: false, bias: false) }
    func testBackward_tiedWithQKVBias() { checkModel(tied: true, bias: true) }
    func testBackward_logitsRecomputedInChunks() { checkModel(tied: false, bias: true, keepLogits: false) }
}
