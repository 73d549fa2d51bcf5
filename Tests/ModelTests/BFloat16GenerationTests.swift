import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// Generation with a bfloat16 copy of the weights, and the prompt prefilled once for the samples
/// of one group: the same bits wherever a row is computed, and the copy kept current.
final class BFloat16GenerationTests: XCTestCase {
    private static let sampling = SamplingParameters(temperature: 1.1, topK: 20, seed: 7)

    /// Generates `prompts`, each row alone (a batch of one, its own stream): no prefill shared.
    private func alone(_ m: Llama, _ prompts: [[Int]], precision: GenerationPrecision,
                       maxNewTokens: Int) throws -> (newTokens: [[Int]], logProbs: [[Float]], ended: [Bool]) {
        let gen = Generator(model: m, threads: 1, precision: precision)
        var out: (newTokens: [[Int]], logProbs: [[Float]], ended: [Bool]) = ([], [], [])
        for (row, p) in prompts.enumerated() {
            let one = try gen.generate(prompts: [p], maxNewTokens: maxNewTokens, sampling: Self.sampling, stopTokens: [3], firstStream: row)
            out.newTokens += one.newTokens
            out.logProbs += one.logProbs
            out.ended += one.ended
        }
        return out
    }

    /// The samples of one prompt share its prefill (computed once, keys, values and logits
    /// copied): every row gets the bits it gets generated alone, at any thread count (which cuts
    /// groups between decoding groups), in both precisions, with prompts of different lengths.
    func testSharedPrefill_givesEachRowTheBitsOfItsOwnPrefill() throws {
        let m = RolloutTests.makeModel()
        let prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
        for precision in GenerationPrecision.allCases {
            let repeated = prompts.flatMap { [[Int]](repeating: $0, count: 4) }
            let expected = try alone(m, repeated, precision: precision, maxNewTokens: 8)
            for threads in [1, 2, 5] {
                let r = try Generator(model: m, threads: threads, precision: precision)
                    .rollout(prompts: prompts, samplesPerPrompt: 4, maxNewTokens: 8, sampling: Self.sampling, stopTokens: [3])
                XCTAssertEqual(r.responses, expected.newTokens, "\(precision), \(threads) threads")
                XCTAssertEqual(r.logProbs, expected.logProbs, "\(precision), \(threads) threads")
                XCTAssertEqual(r.ended, expected.ended, "\(precision), \(threads) threads")
            }
            // Repeats that are not neighbours share too.
            let mixed = [prompts[0], prompts[1], prompts[0], prompts[2], prompts[1]]
            let g = try Generator(model: m, threads: 1, precision: precision)
                .generate(prompts: mixed, maxNewTokens: 8, sampling: Self.sampling, stopTokens: [3])
            let e = try alone(m, mixed, precision: precision, maxNewTokens: 8)
            XCTAssertEqual(g.newTokens, e.newTokens, "\(precision), mixed")
            XCTAssertEqual(g.logProbs, e.logProbs, "\(precision), mixed")
        }
    }

    /// bfloat16 logits stay close to float32's; on weights that bfloat16 represents exactly they
    /// differ only by the order of the sums (the copy sits at the right offsets).
    func testBFloat16Logits_areCloseToFloat32() throws {
        let m = RolloutTests.makeModel()
        let prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
        let cache = try KVCache(model: m, batch: 3, capacity: 8)
        let segments = prompts.enumerated().map { TokenSegment(sequence: $0.offset, tokens: $0.element.map(Int32.init)) }
        func logits(_ weights: GenerationWeights?) -> [Float] {
            cache.reset()
            return m.inferenceForward(segments, cache: cache, weights: weights)
        }
        let f32 = logits(nil), bf16 = logits(GenerationWeights(model: m))
        XCTAssertNotEqual(f32, bf16, "the bfloat16 copy is what the products read")
        let c = Closeness(bf16, f32, atol: 0.05, rtol: 0.02)
        XCTAssertTrue(c.passed, "bfloat16 logits against float32: \(c)")

        var rounded = [UInt16](repeating: 0, count: m.parameterCount)
        BFloat16.round(m.parameters.pointer, into: &rounded, count: m.parameterCount)
        for i in 0..<m.parameterCount { m.parameters.pointer[i] = BFloat16.widen(rounded[i]) }
        let exact = Closeness(logits(GenerationWeights(model: m)), logits(nil), atol: 1e-4, rtol: 1e-4)
        XCTAssertTrue(exact.passed, "on representable weights: \(exact)")
    }

    /// A model large enough that its LM head splits its columns over the threads (1 MB of
    /// weights): decoded as one group of split products or as one group per thread, on one or
    /// two threads, every row gets the same bits, in both precisions.
    func testOneGroupOfSplitProducts_givesTheBitsOfOneGroupPerThread() throws {
        let config = LlamaConfig(vocabSize: 8192, hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 1, numAttentionHeads: 2,
                                 numKeyValueHeads: 1, headDim: 32, maxPositionEmbeddings: 32, rmsNormEps: 1e-5, ropeTheta: 10000,
                                 tieWordEmbeddings: false, attentionBias: false)
        let m = Llama(config: config)
        m.initializeRandom(seed: 3, std: 0.3)
        let prompts = [[1, 2, 3], [400], [5, 6000, 7, 8], [9, 10]]
        for precision in GenerationPrecision.allCases {
            var results: [Rollout] = []
            for (threads, oneGroupAbove) in [(1, Int.max), (2, Int.max), (2, 0)] {
                var gen = Generator(model: m, threads: threads, precision: precision)
                gen.oneGroupAboveBytes = oneGroupAbove
                results.append(try gen.rollout(prompts: prompts, samplesPerPrompt: 2, maxNewTokens: 6, sampling: Self.sampling, stopTokens: []))
            }
            XCTAssertEqual(results[1], results[0], "\(precision): two groups against one thread")
            XCTAssertEqual(results[2], results[0], "\(precision): one group of split products against one thread")
        }
    }

    /// The copy follows the weights: `refreshWeights()` after a change gives what a new generator
    /// gives, and a change nobody announced is caught by the fingerprint before the next call.
    func testCopy_isRefreshedWhenTheWeightsChange() throws {
        let m = RolloutTests.makeModel()
        let prompts = [[1, 2, 3], [4]]
        let gen = Generator(model: m, threads: 1, precision: .bfloat16)
        func run(_ g: Generator) throws -> [[Float]] {
            try g.generate(prompts: prompts, maxNewTokens: 6, sampling: Self.sampling, stopTokens: []).logProbs
        }
        let first = try run(gen)
        XCTAssertEqual(gen.weights?.refreshes, 1)
        m.initializeRandom(seed: 12, std: 0.5)
        gen.refreshWeights()
        XCTAssertEqual(gen.weights?.refreshes, 2)
        let second = try run(gen)
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(second, try run(Generator(model: m, threads: 1, precision: .bfloat16)))
        XCTAssertEqual(gen.weights?.refreshes, 2, "unchanged weights are not converted again")
        m.initializeRandom(seed: 13, std: 0.5)
        let third = try run(gen)
        XCTAssertEqual(gen.weights?.refreshes, 3, "the safety net refreshed the stale copy")
        XCTAssertEqual(third, try run(Generator(model: m, threads: 1, precision: .bfloat16)))
    }
}
