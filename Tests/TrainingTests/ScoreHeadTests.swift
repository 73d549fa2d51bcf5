import Model
import Tensor
import TestSupport
import XCTest

/// The score head (LlamaForSequenceClassification, one label): finite-difference gradients
/// through the whole model, reading at each row's last real token, and the reward model made
/// from a language model.
final class ScoreHeadTests: XCTestCase {
    private func tinyRewardModel() -> Llama {
        var config = LlamaConfig(vocabSize: 13, hiddenSize: 8, intermediateSize: 12, numHiddenLayers: 2, numAttentionHeads: 2,
                                 numKeyValueHeads: 1, headDim: 4, maxPositionEmbeddings: 32)
        config.architecture = "LlamaForSequenceClassification"
        config.numLabels = 1
        config.padTokenID = 0
        let model = Llama(config: config)
        model.initializeRandom(seed: 3, std: 0.5)
        return model
    }

    func testScoreHeadBackward_matchesFiniteDifferences() {
        let model = tinyRewardModel()
        XCTAssertEqual(model.layout.head, .score(labels: 1))
        let B = 3, T = 6
        let lengths = [6, 2, 4]
        let acts = TrainingActivations(model: model, B: B, T: T, withLogits: false)
        var rng = SplitMix64(seed: 17)
        let ids: [Int32] = (0..<(B * T)).map { n in n % T < lengths[n / T] ? Int32(1 + rng.next() % 12) : 0 }
        let weights: [Float] = [0.7, -1.3, 0.4]  // loss = Σ_b weights[b] · score[b]
        func loss() -> Double {
            model.forward(ids: ids, acts: acts)
            let scores = model.scoreForward(lengths: lengths, acts: acts)
            return zip(weights, scores).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = loss()
        let grads = model.enableGradients()
        grads.zero()
        model.scoreBackward(dscores: weights, lengths: lengths, acts: acts)
        model.backward(acts: acts)
        let analytic = grads.array
        let p = model.parameters.pointer
        let worst = BlockGradientCheck.compare(entries: model.layout.entries, values: p, analytic: analytic, perTensor: 6) { loss() }
        XCTAssertTrue(worst.passed, "\(worst)")
    }

    /// SEQ_CLS adapters with `modules_to_save: ["score"]` carry a trainable copy of the head:
    /// adapters and head gradients against finite differences, and no base gradient block.
    func testLoRAWithScoreHead_gradientsMatchFiniteDifferences() {
        let model = tinyRewardModel()
        let config = LoRAConfig(r: 2, alpha: 4, targetModules: LoRATarget.allCases, taskType: .sequenceClassification,
                                modulesToSave: ["score"])
        let adapters = LoRAAdapters(config: config, for: model, seed: 5)
        // Non-zero B, so A's gradients are not zero either.
        var rng = SplitMix64(seed: 21)
        for ad in adapters.layout.adapters {
            for i in 0..<(ad.outFeatures * adapters.layout.r) { adapters.parameters[ad.b][i] = rng.nextGaussian() * 0.5 }
        }
        model.attach(adapters)
        let head = adapters.layout.scoreHead!
        // A head unlike the model's own, to show the passes read the adapters' copy.
        for c in 0..<model.config.hiddenSize { adapters.parameters[head][c] += rng.nextGaussian() * 0.5 }
        let B = 3, T = 6
        let lengths = [6, 2, 4]
        let acts = TrainingActivations(model: model, B: B, T: T, withLogits: false)
        let ids: [Int32] = (0..<(B * T)).map { n in n % T < lengths[n / T] ? Int32(1 + rng.next() % 12) : 0 }
        let weights: [Float] = [0.7, -1.3, 0.4]
        func loss() -> Double {
            model.forward(ids: ids, acts: acts)
            let scores = model.scoreForward(lengths: lengths, acts: acts)
            return zip(weights, scores).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = loss()
        let grads = adapters.enableGradients()
        grads.zero()
        model.scoreBackward(dscores: weights, lengths: lengths, acts: acts)
        model.backward(acts: acts)
        XCTAssertNil(model.gradients, "the frozen base gets no gradient block")
        let analytic = grads.array
        let worst = BlockGradientCheck.compare(entries: adapters.layout.entries, values: adapters.parameters.pointer,
                                               analytic: analytic, perTensor: 4) { loss() }
        XCTAssertTrue(worst.passed, "\(worst)")
        XCTAssertGreaterThan(worst.nonZero, adapters.layout.entries.count)
        XCTAssertTrue(analytic[head..<(head + model.config.hiddenSize)].contains { $0 != 0 }, "the head has a gradient")
    }

    func testScore_readsTheLastRealTokenAndIgnoresThePaddingAfterIt() {
        let model = tinyRewardModel()
        let T = 8
        let acts = TrainingActivations(model: model, B: 2, T: T, withLogits: false)
        // Row 0 and row 1 share their first 5 tokens; row 1's padding differs from row 0's.
        let real: [Int32] = [3, 5, 7, 2, 9]
        let ids = real + [0, 0, 0] + real + [11, 12, 4]
        model.forward(ids: ids, acts: acts)
        let scores = model.scoreForward(lengths: [5, 5], acts: acts)
        XCTAssertTrue(Closeness([scores[0]], [scores[1]], atol: 1e-5).passed, "\(scores)")
        let shorter = model.scoreForward(lengths: [4, 5], acts: acts)
        XCTAssertNotEqual(shorter[0], scores[0])
    }

    func testMakeRewardModel_keepsTheDecoderAndDrawsANewSeededHead() {
        let lm = Llama(config: LlamaConfig(vocabSize: 13, hiddenSize: 8, intermediateSize: 12, numHiddenLayers: 1,
                                           numAttentionHeads: 2, maxPositionEmbeddings: 16))
        lm.initializeRandom(seed: 1)
        let rm = lm.makeRewardModel(padTokenID: 3, seed: 99)
        XCTAssertEqual(rm.config.architecture, "LlamaForSequenceClassification")
        XCTAssertEqual(rm.config.numLabels, 1)
        XCTAssertEqual(rm.config.padTokenID, 3)
        XCTAssertNil(rm.layout.lmHead)
        for e in rm.layout.entries where e.name != "score.weight" {
            let source = lm.layout.entry(named: e.name)!
            XCTAssertEqual(Array(UnsafeBufferPointer(start: rm.parameters[e.offset], count: e.count)),
                           Array(UnsafeBufferPointer(start: lm.parameters[source.offset], count: e.count)), e.name)
        }
        let head = rm.layout.entry(named: "score.weight")!
        XCTAssertEqual(head.shape, [1, 8])
        let w = Array(UnsafeBufferPointer(start: rm.parameters[head.offset], count: 8))
        let again = lm.makeRewardModel(padTokenID: 3, seed: 99)
        XCTAssertEqual(w, Array(UnsafeBufferPointer(start: again.parameters[head.offset], count: 8)), "same seed, same head")
        XCTAssertTrue(w.allSatisfy { abs($0) < 0.1 } && w.contains { $0 != 0 }, "N(0, 0.02) draws: \(w)")
    }
}

/// The score head against transformers' LlamaForSequenceClassification on the `llama-rm-f32`
/// fixture (Scripts/make-fixtures): right-padded rows of different lengths, one score each.
final class ScoreHeadFixtureTests: XCTestCase {
    func testScores_matchTransformersWithin1e4() throws {
        let dir = Fixture.repositoryRoot + "/Tests/ModelTests/Fixtures/llama-rm-f32"
        let model = try Llama.load(directory: dir)
        XCTAssertEqual(model.layout.head, .score(labels: 1))
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/reference.json"))) as! [String: Any]
        let rows = reference["padded_ids"] as! [[Int]]
        let lengths = reference["lengths"] as! [Int]
        let expected = (reference["scores"] as! [NSNumber]).map(\.floatValue)
        let T = rows[0].count
        let acts = TrainingActivations(model: model, B: rows.count, T: T, withLogits: false)
        model.forward(ids: rows.flatMap { $0.map(Int32.init) }, acts: acts)
        let scores = model.scoreForward(lengths: lengths, acts: acts)
        assertClose(scores, expected, atol: 1e-4, rtol: 0, "scores vs transformers")
    }
}
