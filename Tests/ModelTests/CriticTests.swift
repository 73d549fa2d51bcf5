import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// The critic: the reward model's score head at every position, its gradient, and its start
/// from (and save to) a step-2 reward-model directory.
final class CriticTests: XCTestCase {
    static func rewardModel() -> Llama {
        let lm = Llama(config: LlamaGradientTests.tinyConfig(bias: true))
        lm.initializeRandom(seed: 4, std: 0.5)
        return lm.makeRewardModel(padTokenID: 0, seed: 8, std: 0.5)
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "rlhf-model-tests/\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Σ_n c_n · value_n: every parameter's gradient (decoder and score head) against central
    /// differences.
    func testValuesBackward_matchesFiniteDifferences() {
        let model = Self.rewardModel()
        let B = 2, T = 5
        let acts = TrainingActivations(model: model, B: B, T: T, withLogits: false)
        var rng = SplitMix64(seed: 3)
        let ids: [Int32] = (0..<(B * T)).map { _ in Int32(rng.next() % 13) }
        let c: [Float] = (0..<(B * T)).map { n in n == 3 ? 0 : rng.nextFloat() * 2 - 1 }  // one ignored position
        func loss() -> Double {
            model.forward(ids: ids, acts: acts)
            return zip(c, model.valuesForward(acts: acts)).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = loss()
        let grads = model.enableGradients()
        grads.zero()
        model.valuesBackward(dvalues: c, acts: acts)
        model.backward(acts: acts)
        let worst = BlockGradientCheck.compare(entries: model.layout.entries, values: model.parameters.pointer,
                                               analytic: grads.array, perTensor: 6) { loss() }
        XCTAssertLessThanOrEqual(worst.excess, 0, "\(worst)")
        XCTAssertTrue(worst.nonZero > 20, "\(worst.nonZero) non-zero gradients sampled")
    }

    /// A critic loaded from a reward-model directory gives, at each row's last real token, the
    /// reward model's score (the same bits); saved, it loads back as the same model.
    func testCritic_startsFromARewardModelDirectoryAndSavesInItsLayout() throws {
        let rm = Self.rewardModel()
        let rmDirectory = try Self.temporaryDirectory("rm")
        try rm.save(directory: rmDirectory)
        let critic = try Llama.loadCritic(directory: rmDirectory)
        let B = 3, T = 6
        let lengths = [6, 2, 4]
        let ids: [Int32] = (0..<(B * T)).map { n in n % T < lengths[n / T] ? Int32(1 + n % 11) : 0 }
        let acts = TrainingActivations(model: critic, B: B, T: T, withLogits: false)
        critic.forward(ids: ids, acts: acts)
        let values = critic.valuesForward(acts: acts)
        XCTAssertEqual(values.count, B * T)
        let rmActs = TrainingActivations(model: rm, B: B, T: T, withLogits: false)
        rm.forward(ids: ids, acts: rmActs)
        let scores = rm.scoreForward(lengths: lengths, acts: rmActs)
        for b in 0..<B { XCTAssertEqual(values[b * T + lengths[b] - 1], scores[b], "row \(b)") }
        XCTAssertNotEqual(values[0], values[1])

        let criticDirectory = try Self.temporaryDirectory("critic")
        try critic.save(directory: criticDirectory)
        let again = try Llama.loadCritic(directory: criticDirectory)
        XCTAssertEqual(again.config.architecture, "LlamaForSequenceClassification")
        XCTAssertEqual(again.layout.head, .score(labels: 1))
        XCTAssertEqual(again.parameters.array, critic.parameters.array)

        // A language-model directory is not a critic.
        let lmDirectory = try Self.temporaryDirectory("lm")
        let lm = Llama(config: LlamaGradientTests.tinyConfig())
        try lm.save(directory: lmDirectory)
        XCTAssertThrowsError(try Llama.loadCritic(directory: lmDirectory)) { error in
            XCTAssertEqual((error as? CheckpointError)?.code, .invalidValue, "\(error)")
        }
    }
}
