import Model
import Tensor
import TestSupport
import XCTest

/// Scoring activations (forward only, layers sharing their buffers) and reshaped training
/// activations give the bits of a fresh set of the batch's own shape, and hold what
/// `TrainingActivations.bytes` says they hold.
final class ScoringActivationsTests: XCTestCase {
    let cfg = LlamaConfig(vocabSize: 50, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 3, numAttentionHeads: 4,
                          numKeyValueHeads: 2, maxPositionEmbeddings: 64)

    func batch(B: Int, T: Int, seed: UInt64) -> (ids: [Int32], targets: [Int32]) {
        var rng = SplitMix64(seed: seed)
        let ids = (0..<(B * T)).map { _ in Int32(rng.next() % 50) }
        let targets = (0..<(B * T)).map { $0 % T == T - 1 ? Int32(-1) : ids[$0 + 1] }
        return (ids, targets)
    }

    func logProbs(_ model: Llama, _ acts: TrainingActivations, _ b: (ids: [Int32], targets: [Int32])) -> [Float] {
        model.forward(ids: b.ids, acts: acts)
        model.languageModelForward(targets: b.targets, acts: acts, keepLogits: false)
        return Array(UnsafeBufferPointer(start: acts.logprobs.pointer, count: acts.B * acts.T))
    }

    /// A stored array of buffers, read by reflection (the module is built without testability).
    func field(_ acts: TrainingActivations, _ name: String) -> [FloatBuffer]? {
        Mirror(reflecting: acts).children.first { $0.label == name }?.value as? [FloatBuffer]
    }

    func testScoringActivations_giveTheBitsOfTrainingActivations() throws {
        let model = Llama(config: cfg)
        model.initializeRandom(seed: 5, std: 0.2)
        let B = 3, T = 20
        let b = batch(B: B, T: T, seed: 6)
        let training = logProbs(model, TrainingActivations(model: model, B: B, T: T, withLogits: false), b)
        let scoring = TrainingActivations(model: model, B: B, T: T, withLogits: false, forScoring: true)
        XCTAssertFalse(scoring.keepsBackward)
        let qkv = try XCTUnwrap(field(scoring, "qkv")), resid = try XCTUnwrap(field(scoring, "resid"))
        XCTAssertTrue(qkv[0] === qkv[2], "a scoring set's layers share their buffers")
        XCTAssertFalse(resid[1] === resid[2], "the residual stream alternates between two buffers")
        XCTAssertEqual(training, logProbs(model, scoring, b))
        // Values read from the final hidden state are the same too (the critic's values).
        model.forward(ids: b.ids, acts: scoring)
        let fresh = TrainingActivations(model: model, B: B, T: T, withLogits: false)
        model.forward(ids: b.ids, acts: fresh)
        XCTAssertEqual(scoring.hidden.array, fresh.hidden.array)
    }

    func testReshapedActivations_giveTheBitsOfAFreshSet_andBackwardAgrees() {
        let model = Llama(config: cfg)
        model.initializeRandom(seed: 7, std: 0.2)
        let big = TrainingActivations(model: model, B: 4, T: 32, withLogits: false)
        XCTAssertFalse(big.reshape(B: 5, T: 16), "more rows than the capacity")
        XCTAssertFalse(big.reshape(B: 2, T: 33), "longer than the capacity")
        for (B, T, seed) in [(2, 16, 8), (4, 32, 9), (3, 24, 10)] as [(Int, Int, UInt64)] {
            let b = batch(B: B, T: T, seed: seed)
            XCTAssertTrue(big.reshape(B: B, T: T))
            XCTAssertEqual(Mirror(reflecting: big).children.first { $0.label == "positions" }?.value as? [Int32], (0..<(B * T)).map { Int32($0 % T) })
            let fresh = TrainingActivations(model: model, B: B, T: T, withLogits: false)
            XCTAssertEqual(logProbs(model, big, b), logProbs(model, fresh, b), "(\(B), \(T))")
            // One backward on each: the same gradients.
            let grads = model.enableGradients()
            var results: [[Float]] = []
            for acts in [big, fresh] {
                _ = logProbs(model, acts, b)
                var dlogp = [Float](repeating: 0, count: B * T)
                _ = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: b.targets, N: B * T)
                grads.zero()
                model.languageModelBackward(dlogprobs: dlogp, targets: b.targets, acts: acts)
                model.backward(acts: acts)
                results.append(grads.array)
            }
            XCTAssertEqual(results[0], results[1], "gradients at (\(B), \(T))")
        }
    }

    /// `bytes` is what `init` allocates: the memory plan's figures are the real ones.
    func testBytes_matchTheBuffersAllocated() {
        let model = Llama(config: cfg)
        for forScoring in [false, true] {
            let (B, T) = (3, 20)
            let acts = TrainingActivations(model: model, B: B, T: T, withLogits: false, forScoring: forScoring, context: ComputeContext(threads: 2))
            var seen = Set<ObjectIdentifier>(), floats = 0
            let mirror = Mirror(reflecting: acts)
            for child in mirror.children {
                let buffers: [FloatBuffer] = (child.value as? [FloatBuffer]) ?? ((child.value as? FloatBuffer).map { [$0] } ?? [])
                for b in buffers where seen.insert(ObjectIdentifier(b)).inserted { floats += b.count }
            }
            let expected = TrainingActivations.bytes(config: cfg, B: B, T: T, withLogits: false, forScoring: forScoring, threads: 2)
            XCTAssertEqual(4 * floats + 8 * B * T, expected, forScoring ? "scoring" : "training")
        }
    }
}
