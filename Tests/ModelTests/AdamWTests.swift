import Model
import Tensor
import XCTest

final class AdamWTests: XCTestCase {
    /// Two steps against the update written out by hand (torch.optim.AdamW's formulas), with
    /// decay on matrices only.
    func testUpdate_matchesReferenceAndSkipsDecayOnNorms() {
        let cfg = LlamaGradientTests.tinyConfig()
        let model = Llama(config: cfg)
        model.initializeRandom(seed: 1, std: 0.3)
        let grads = model.enableGradients()
        var rng = SplitMix64(seed: 2)
        for i in 0..<grads.count { grads.pointer[i] = rng.nextFloat() - 0.5 }
        let p0 = model.parameters.array, g = grads.array
        let hp = AdamW.Hyperparameters(beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        let opt = AdamW(layout: model.layout, hyperparameters: hp)
        let lr: Float = 1e-2
        opt.update(parameters: model.parameters, gradients: grads, lr: lr)
        opt.update(parameters: model.parameters, gradients: grads, lr: lr)
        for e in model.layout.entries {
            let i = e.offset
            var p = Double(p0[i]), m = 0.0, v = 0.0
            for t in 1...2 {
                if e.decays { p *= 1 - Double(lr * hp.weightDecay) }
                m = 0.9 * m + 0.1 * Double(g[i])
                v = 0.95 * v + 0.05 * Double(g[i]) * Double(g[i])
                let mh = m / (1 - pow(0.9, Double(t))), vh = v / (1 - pow(0.95, Double(t)))
                p -= Double(lr) * mh / (vh.squareRoot() + 1e-8)
            }
            XCTAssertEqual(Double(model.parameters.pointer[i]), p, accuracy: 1e-5, e.name)
        }
    }

    func testClipping_scalesToMaxNorm() {
        let b = FloatBuffer(count: 4)
        for (i, v) in [3, 4, 0, 0].enumerated() { b.pointer[i] = Float(v) }
        let before = GradientClipping.clip(b, maxNorm: 1)
        XCTAssertEqual(before, 5, accuracy: 1e-6)
        XCTAssertEqual(GradientClipping.globalNorm(b), 1, accuracy: 1e-5)
        XCTAssertEqual(GradientClipping.clip(b, maxNorm: 10), GradientClipping.globalNorm(b))
    }
}
