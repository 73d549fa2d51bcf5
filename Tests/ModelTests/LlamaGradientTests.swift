import Model
import Tensor
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
        var worst = (excess: -1.0, name: "", numeric: 0.0, analytic: 0.0)
        for e in model.layout.entries {
            for k in stride(from: 0, to: e.count, by: max(1, e.count / 6)) {
                let i = e.offset + k, orig = p[i], eps: Float = 2e-3
                p[i] = orig + eps
                let lp = loss()
                p[i] = orig - eps
                let lm = loss()
                p[i] = orig
                let numeric = (lp - lm) / Double(2 * eps)
                let a = Double(analytic[i])
                let excess = abs(numeric - a) - (2e-3 + 3e-2 * max(abs(a), abs(numeric)))
                if excess > worst.excess { worst = (excess, "\(e.name)[\(k)]", numeric, a) }
            }
        }
        XCTAssertLessThanOrEqual(worst.excess, 0, "worst: \(worst.name) numeric \(worst.numeric) analytic \(worst.analytic)")
    }

    func testBackward_untied() { checkModel(tied: false, bias: false) }
    func testBackward_tiedWithQKVBias() { checkModel(tied: true, bias: true) }
    func testBackward_logitsRecomputedInChunks() { checkModel(tied: false, bias: true, keepLogits: false) }
}
