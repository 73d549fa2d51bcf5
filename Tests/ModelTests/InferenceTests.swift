import Model
import Tensor
import TestSupport
import XCTest

final class InferenceTests: XCTestCase {
    func makeModel() -> Llama {
        let m = Llama(config: LlamaGradientTests.tinyConfig(bias: true))
        m.initializeRandom(seed: 3, std: 0.6)
        return m
    }

    /// The KV-cache path (prefill then token-by-token decode) gives the same logits as the
    /// training forward over the whole sequence.
    func testCachedDecoding_matchesFullForward() throws {
        let m = makeModel()
        let ids: [Int32] = [1, 7, 3, 12, 0, 5, 9]
        let T = ids.count
        let acts = TrainingActivations(model: m, B: 1, T: T)
        m.forward(ids: ids, acts: acts)
        let targets = [Int32](repeating: 0, count: T)
        m.languageModelForward(targets: targets, acts: acts)
        let cache = try KVCache(model: m, batch: 1, capacity: T)
        var logits = m.inferenceForward([TokenSegment(sequence: 0, tokens: Array(ids[0..<3]))], cache: cache)
        for t in 2..<T {
            let c = Closeness(logits, acts.logits.array[(t * 13)..<((t + 1) * 13)], atol: 1e-4)
            XCTAssertTrue(c.passed, "position \(t): cached vs training forward: \(c)")
            if t + 1 < T { logits = m.inferenceForward([TokenSegment(sequence: 0, tokens: [ids[t + 1]])], cache: cache) }
        }
    }

    /// Generating a batch of prompts of different lengths gives each prompt what it gets alone.
    func testBatchedGeneration_matchesOneByOne() throws {
        let m = makeModel()
        let prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10]]
        let gen = Generator(model: m)
        let batched = try gen.generate(prompts: prompts, maxNewTokens: 8)
        for (i, p) in prompts.enumerated() {
            XCTAssertEqual(try gen.generate(prompts: [p], maxNewTokens: 8).newTokens[0], batched.newTokens[i])
        }
        XCTAssertEqual(batched.newTokens.map(\.count), [8, 8, 8])
    }

    func testSampling_isSeededAndRespectsTopK() throws {
        let m = makeModel()
        let gen = Generator(model: m)
        let s = SamplingParameters(temperature: 1.5, topK: 3, topP: 0.95, seed: 77)
        let a = try gen.generate(prompts: [[1, 2], [3]], maxNewTokens: 10, sampling: s)
        let b = try gen.generate(prompts: [[1, 2], [3]], maxNewTokens: 10, sampling: s)
        XCTAssertEqual(a.newTokens, b.newTokens)
        var other = s
        other.seed = 78
        let c = try gen.generate(prompts: [[1, 2], [3]], maxNewTokens: 10, sampling: other)
        XCTAssertNotEqual(a.newTokens, c.newTokens)
        // top-k 1 is greedy
        let g1 = try gen.generate(prompts: [[1, 2]], maxNewTokens: 6, sampling: SamplingParameters(temperature: 1, topK: 1, seed: 1))
        XCTAssertEqual(g1.newTokens, try gen.generate(prompts: [[1, 2]], maxNewTokens: 6).newTokens)
    }

    func testTopP_keepsSmallestSetReachingP() throws {
        // probabilities ~ [0.5, 0.3, 0.2]: top-p 0.6 keeps the first two only
        let logits: [Float] = [log(0.5), log(0.3), log(0.2)]
        var sampler = Sampler(SamplingParameters(temperature: 1, topP: 0.6, seed: 4))
        var seen = Set<Int>()
        logits.withUnsafeBufferPointer { l in
            for _ in 0..<400 { seen.insert(sampler.sample(l)) }
        }
        XCTAssertEqual(seen, [0, 1])
    }

    func testStopToken_endsOnlyThatSequence() throws {
        let m = makeModel()
        let gen = Generator(model: m)
        let free = try gen.generate(prompts: [[1, 2, 3]], maxNewTokens: 8).newTokens[0]
        let stop = free[2]
        let out = try gen.generate(prompts: [[1, 2, 3], [4]], maxNewTokens: 8, stopTokens: [stop])
        XCTAssertEqual(out.newTokens[0], Array(free[0...(free.firstIndex(of: stop)!)]))
    }
}

final class GenerationSplitTests: XCTestCase {
    /// The batch decoded as one group or as two (one per thread) gives the same sampled tokens,
    /// with and without LoRA adapters (whose scratch lives in each group's cache).
    func testSampledTokens_doNotDependOnHowTheBatchIsSplit() throws {
        let m = Llama(config: LlamaGradientTests.tinyConfig(bias: true))
        m.initializeRandom(seed: 3, std: 0.6)
        let prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10], [11, 12]]
        let s = SamplingParameters(temperature: 1.3, topK: 8, seed: 21)
        for adapted in [false, true] {
            if adapted {
                let lora = LoRAAdapters(config: LoRAConfig(r: 2, targetModules: LoRATarget.allCases), for: m, seed: 1)
                var rng = SplitMix64(seed: 5)  // non-zero B, so the adapters change the outputs
                for i in 0..<lora.parameters.count { lora.parameters.pointer[i] = (rng.nextFloat() - 0.5) * 0.5 }
                m.attach(lora)
            }
            let whole = try Generator(model: m, threads: 1).generate(prompts: prompts, maxNewTokens: 10, sampling: s)
            let split = try Generator(model: m, threads: 2).generate(prompts: prompts, maxNewTokens: 10, sampling: s)
            XCTAssertEqual(split.newTokens, whole.newTokens, "adapted: \(adapted)")
            XCTAssertEqual(split.generatedTokens, 40)
        }
        m.detachAdapters()
    }
}

final class SamplerTests: XCTestCase {
    /// Top-k keeps exactly the k best logits (ties by index), and every path draws in proportion
    /// to the softmax of what it keeps.
    func testDraws_followTheKeptSoftmax() throws {
        let logits: [Float] = [0.1, 2.0, -1.0, 1.5, 2.0, 0.7, -3.0, 1.0]
        func frequencies(_ p: SamplingParameters) -> [Double] {
            var sampler = Sampler(p)
            var counts = [Double](repeating: 0, count: logits.count)
            logits.withUnsafeBufferPointer { l in
                for _ in 0..<20_000 { counts[sampler.sample(l)] += 1 }
            }
            return counts.map { $0 / 20_000 }
        }
        func softmax(_ keep: [Int], t: Double) -> [Double] {
            var p = [Double](repeating: 0, count: logits.count)
            let z = keep.reduce(0.0) { $0 + exp(Double(logits[$1]) / t) }
            for i in keep { p[i] = exp(Double(logits[i]) / t) / z }
            return p
        }
        let cases: [(SamplingParameters, [Double])] = [
            (SamplingParameters(temperature: 0.8, seed: 1), softmax(Array(0..<8), t: 0.8)),
            (SamplingParameters(temperature: 1, topK: 3, seed: 2), softmax([1, 4, 3], t: 1)),
            (SamplingParameters(temperature: 1, topP: 0.5, seed: 3), softmax([1, 4], t: 1)),
        ]
        for (p, expected) in cases {
            let f = frequencies(p)
            for i in 0..<logits.count {
                XCTAssertEqual(f[i], expected[i], accuracy: 0.015, "\(p) token \(i)")
                if expected[i] == 0 { XCTAssertEqual(f[i], 0, "\(p) drew a token it should not keep") }
            }
        }
    }
}
