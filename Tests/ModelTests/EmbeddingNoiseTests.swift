import Model
import Tensor
import TestSupport
import XCTest

/// NEFTune's noise: its bound, its spread, its seeding, and that it reaches the model's output.
final class EmbeddingNoiseTests: XCTestCase {
    func testNoise_staysWithinAlphaOverSqrtTCAndFillsTheRange() {
        let T = 20, C = 32, count = 3 * T * C
        let noise = Llama.EmbeddingNoise(alpha: 5, seed: 9)
        var x = [Float](repeating: 0, count: count)
        noise.add(to: &x, count: count, T: T, C: C)
        let bound = 5 / Float(T * C).squareRoot()
        XCTAssertLessThanOrEqual(Closeness.largestMagnitude(x), Double(bound))
        XCTAssertGreaterThan(Closeness.largestMagnitude(x), 0.99 * Double(bound), "uniform over the whole range")
        let mean = x.reduce(0, +) / Float(count)
        XCTAssertLessThan(abs(mean), 0.05 * bound)
        // Uniform on [-b, b]: mean square b²/3.
        let meanSquare = x.reduce(0) { $0 + $1 * $1 } / Float(count)
        XCTAssertEqual(meanSquare, bound * bound / 3, accuracy: 0.05 * bound * bound)

        var again = [Float](repeating: 0, count: count)
        noise.add(to: &again, count: count, T: T, C: C)
        XCTAssertEqual(x, again, "the same seed draws the same noise")
        var other = [Float](repeating: 0, count: count)
        Llama.EmbeddingNoise(alpha: 5, seed: 10).add(to: &other, count: count, T: T, C: C)
        XCTAssertNotEqual(x, other)
    }

    func testForwardWithNoise_changesTheOutputOnlyWhenAskedTo() {
        let m = Llama(config: LlamaGradientTests.tinyConfig())
        m.initializeRandom(seed: 3, std: 0.6)
        let ids: [Int32] = [1, 7, 3, 12, 0, 5, 9]
        func hidden(_ noise: Llama.EmbeddingNoise?) -> [Float] {
            let acts = TrainingActivations(model: m, B: 1, T: ids.count)
            m.forward(ids: ids, acts: acts, embeddingNoise: noise)
            return Array(UnsafeBufferPointer(start: acts.hidden.pointer, count: ids.count * m.config.hiddenSize))
        }
        let clean = hidden(nil)
        XCTAssertEqual(hidden(Llama.EmbeddingNoise(alpha: 0, seed: 1)), clean, "alpha 0 adds nothing")
        let noisy = hidden(Llama.EmbeddingNoise(alpha: 5, seed: 1))
        XCTAssertTrue(noisy.allSatisfy(\.isFinite), "noisy embeddings must stay finite")
        XCTAssertGreaterThan(Closeness(noisy, clean, atol: 0).worstAbsolute, 1e-3)
        XCTAssertEqual(hidden(Llama.EmbeddingNoise(alpha: 5, seed: 1)), noisy)
    }
}
