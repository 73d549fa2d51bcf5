import Foundation
import Model
import Tensor
import XCTest

/// Generation for RL: the log-probability of each sampled token, seeded samples that do not
/// depend on the batch split, the `ended` flags, and KV caches reused across calls.
final class RolloutTests: XCTestCase {
    /// Vocabulary 40 so that top-k and top-p cut real candidates.
    static func makeModel() -> Llama {
        let config = LlamaConfig(vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 2,
                                 numKeyValueHeads: 1, headDim: 8, maxPositionEmbeddings: 32, rmsNormEps: 1e-5, ropeTheta: 10000,
                                 tieWordEmbeddings: false, attentionBias: true)
        let m = Llama(config: config)
        m.initializeRandom(seed: 11, std: 0.5)
        return m
    }

    static let prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]

    /// log π(token) recomputed from the training forward's logits in Double: softmax(logits / t)
    /// over the candidates top-k then top-p keep (ties by index), or nil when the token is not
    /// among them.
    static func independentLogProb(logits: [Float], token: Int, _ s: SamplingParameters) -> Double? {
        let scaled = logits.map { Double($0) / Double(s.temperature) }
        var order = Array(scaled.indices).sorted { scaled[$0] > scaled[$1] || (scaled[$0] == scaled[$1] && $0 < $1) }
        if s.topK > 0 { order = Array(order.prefix(s.topK)) }
        let top = scaled[order[0]]
        var z = order.reduce(0.0) { $0 + exp(scaled[$1] - top) }
        if s.topP < 1 {
            var cumulative = 0.0, keep = 0
            for i in order {
                cumulative += exp(scaled[i] - top) / z
                keep += 1
                if cumulative >= Double(s.topP) { break }
            }
            order = Array(order.prefix(keep))
            z = order.reduce(0.0) { $0 + exp(scaled[$1] - top) }
        }
        guard order.contains(token) else { return nil }
        return scaled[token] - top - log(z)
    }

    func testLogProbs_equalTheKeptSoftmaxRecomputedIndependently() throws {
        let m = Self.makeModel()
        let gen = Generator(model: m, threads: 2)
        let cases = [
            SamplingParameters(temperature: 0.7, seed: 1),
            SamplingParameters(temperature: 1.3, topK: 5, seed: 2),
            SamplingParameters(temperature: 0.9, topP: 0.8, seed: 3),
            SamplingParameters(temperature: 1.1, topK: 12, topP: 0.7, seed: 4),
        ]
        let V = m.config.vocabSize
        for s in cases {
            let r = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 2, maxNewTokens: 6, sampling: s, stopTokens: [])
            XCTAssertEqual(r.count, 6)
            var checked = 0
            for (row, response) in r.responses.enumerated() {
                let ids = (r.prompts[row] + response).map(Int32.init)
                let acts = TrainingActivations(model: m, B: 1, T: ids.count)
                m.forward(ids: ids, acts: acts)
                m.languageModelForward(targets: [Int32](repeating: 0, count: ids.count), acts: acts)
                for (j, token) in response.enumerated() {
                    let t = r.prompts[row].count + j - 1
                    let logits = (0..<V).map { acts.logits[t * V + $0].pointee }
                    guard let expected = Self.independentLogProb(logits: logits, token: token, s) else {
                        XCTFail("\(s): row \(row) token \(j) = \(token) is not among the kept candidates")
                        continue
                    }
                    let got = Double(r.logProbs[row][j])
                    XCTAssertTrue(abs(got - expected) <= 1e-4, "\(s): row \(row) token \(j): \(got) vs \(expected)")
                    checked += 1
                }
            }
            XCTAssertEqual(checked, 36)
        }
        // Greedy: the argmax, with log-probability 0.
        let g = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 1, maxNewTokens: 4, sampling: .greedy, stopTokens: [])
        XCTAssertEqual(g.responses, try gen.generate(prompts: Self.prompts, maxNewTokens: 4).newTokens)
        XCTAssertEqual(g.logProbs, [[Float]](repeating: [0, 0, 0, 0], count: 3))
    }

    /// The same seed gives the same samples and log-probs; one decoding group or three give the
    /// same samples; sample i of prompt p is stream p*S + i (what `generate` draws for the repeated
    /// prompt list); another seed gives other samples.
    func testSamples_areSeededAndIndependentOfTheSplit() throws {
        let m = Self.makeModel()
        let s = SamplingParameters(temperature: 1.2, topK: 10, seed: 9)
        let one = try Generator(model: m, threads: 1).rollout(prompts: Self.prompts, samplesPerPrompt: 3, maxNewTokens: 7, sampling: s, stopTokens: [])
        let three = try Generator(model: m, threads: 3).rollout(prompts: Self.prompts, samplesPerPrompt: 3, maxNewTokens: 7, sampling: s, stopTokens: [])
        // The same bits: every product gives a row what it would give it alone.
        XCTAssertEqual(one.responses, three.responses)
        XCTAssertEqual(one.ended, three.ended)
        XCTAssertEqual(one.logProbs, three.logProbs)
        XCTAssertEqual(one, try Generator(model: m, threads: 1).rollout(prompts: Self.prompts, samplesPerPrompt: 3, maxNewTokens: 7, sampling: s, stopTokens: []))
        XCTAssertEqual(one.prompts, Self.prompts.flatMap { [$0, $0, $0] })
        let repeated = try Generator(model: m, threads: 1).generate(prompts: one.prompts, maxNewTokens: 7, sampling: s)
        XCTAssertEqual(one.responses, repeated.newTokens)
        XCTAssertEqual(one.logProbs, repeated.logProbs)
        // The samples of one prompt differ from each other (separate streams).
        XCTAssertNotEqual(one.responses[0], one.responses[1])
        var other = s
        other.seed = 10
        XCTAssertNotEqual(one.responses, try Generator(model: m).rollout(prompts: Self.prompts, samplesPerPrompt: 3, maxNewTokens: 7, sampling: other, stopTokens: []).responses)
        XCTAssertEqual(one.promptTokens, 3 * 9)
        XCTAssertEqual(one.generatedTokens, 9 * 7)
        XCTAssertEqual(one.steps, 7)
    }

    /// A batch cut into parts, each generated alone with its first row as `firstRow` (as
    /// generator replicas do), gives every row the bits of the whole batch, including with more
    /// than `Linear.smallRows` rows in a pass (24 here), with LoRA adapters attached (float32 on
    /// a bfloat16 base) and in both precisions.
    func testParts_withTheirFirstRow_giveTheWholeBatchBitForBit() throws {
        for (lora, precision) in [(false, GenerationPrecision.float32), (true, .float32), (false, .bfloat16), (true, .bfloat16)] {
            let m = Self.makeModel()
            if lora {
                let adapters = LoRAAdapters(config: LoRAConfig(r: 2, alpha: 4, targetModules: LoRATarget.allCases), for: m, seed: 3)
                var rng = SplitMix64(seed: 4)
                for e in adapters.layout.entries where e.name.contains("lora_B") {
                    for i in 0..<e.count { adapters.parameters[e.offset + i].pointee = (rng.nextFloat() * 2 - 1) * 0.4 }
                }
                m.attach(adapters, trainBase: false)
            }
            try assertPartsGiveTheWholeBatch(m, precision: precision, what: "\(lora ? "with LoRA" : "plain"), \(precision)")
        }
    }

    private func assertPartsGiveTheWholeBatch(_ m: Llama, precision: GenerationPrecision, what: String) throws {
        let s = SamplingParameters(temperature: 1.1, topP: 0.9, seed: 5)
        let prompts = (0..<12).map { p in (0..<(1 + p % 5)).map { (p * 7 + $0 * 3) % 40 } }
        let whole = try Generator(model: m, threads: 2, precision: precision).rollout(prompts: prompts, samplesPerPrompt: 2, maxNewTokens: 9, sampling: s, stopTokens: [3])
        for cut in [[0, 1, 12], [0, 5, 12], [0, 3, 7, 12]] {
            var responses: [[Int]] = [], logProbs: [[Float]] = [], ended: [Bool] = []
            for k in 0..<(cut.count - 1) {
                let part = try Generator(model: m, threads: 1, precision: precision).rollout(prompts: Array(prompts[cut[k]..<cut[k + 1]]), samplesPerPrompt: 2,
                                                                       maxNewTokens: 9, sampling: s, stopTokens: [3], firstRow: 2 * cut[k])
                responses += part.responses
                logProbs += part.logProbs
                ended += part.ended
            }
            XCTAssertEqual(responses, whole.responses, "\(what), cut \(cut)")
            XCTAssertEqual(logProbs, whole.logProbs, "\(what), cut \(cut)")
            XCTAssertEqual(ended, whole.ended, "\(what), cut \(cut)")
        }
    }

    /// A stop token ends a sample (kept as its last token, `ended` true); a sample cut at
    /// maxNewTokens has `ended` false, including one whose stop token came exactly last.
    func testEndedFlags() throws {
        let m = Self.makeModel()
        let gen = Generator(model: m, threads: 2)
        let s = SamplingParameters(temperature: 1.5, seed: 5)
        let free = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 4, maxNewTokens: 8, sampling: s, stopTokens: [])
        XCTAssertEqual(free.ended, [Bool](repeating: false, count: 12))
        // A token some samples draw and others do not.
        let counts = Dictionary(free.responses.flatMap { Set($0) }.map { ($0, 1) }, uniquingKeysWith: +)
        let stop = try XCTUnwrap(counts.filter { $0.value > 1 && $0.value < 12 }.keys.min())
        let r = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 4, maxNewTokens: 8, sampling: s, stopTokens: [stop])
        var endedCount = 0
        for (i, response) in r.responses.enumerated() {
            // The samples are the same draws, cut at the first stop token.
            if let k = free.responses[i].firstIndex(of: stop) {
                XCTAssertEqual(response, Array(free.responses[i][...k]), "sample \(i)")
                XCTAssertTrue(r.ended[i], "sample \(i) ended with \(stop)")
                XCTAssertEqual(r.logProbs[i], Array(free.logProbs[i][...k]))
                endedCount += 1
            } else {
                XCTAssertEqual(response, free.responses[i])
                XCTAssertFalse(r.ended[i], "sample \(i) never drew \(stop)")
            }
        }
        XCTAssertTrue(endedCount > 0 && endedCount < 12)
        XCTAssertEqual(r.generatedTokens, r.responses.reduce(0) { $0 + $1.count })
        // A stop token drawn exactly at maxNewTokens still ends the sample.
        let i = try XCTUnwrap(free.responses.indices.first { free.responses[$0].firstIndex(of: free.responses[$0][7]) == 7 })
        let cut = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 4, maxNewTokens: 8, sampling: s,
                                  stopTokens: [free.responses[i][7]])
        XCTAssertEqual(cut.responses[i], free.responses[i])
        XCTAssertTrue(cut.ended[i])
    }

    /// The second call of the same shape allocates no KV cache, nor does a smaller one; a longer
    /// one grows the pool's caches.
    func testKVCaches_areReusedAcrossCalls() throws {
        let m = Self.makeModel()
        let gen = Generator(model: m, threads: 2)
        let s = SamplingParameters(temperature: 1, seed: 1)
        let first = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 2, maxNewTokens: 6, sampling: s, stopTokens: [])
        let allocated = gen.cachePool.cachesAllocated
        XCTAssertTrue(allocated >= 1 && allocated <= 2, "\(allocated)")
        let second = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 2, maxNewTokens: 6, sampling: s, stopTokens: [])
        XCTAssertEqual(gen.cachePool.cachesAllocated, allocated)
        XCTAssertEqual(first, second, "a reused cache gives the same bits as a new one")
        _ = try gen.rollout(prompts: [[1]], samplesPerPrompt: 1, maxNewTokens: 3, sampling: s, stopTokens: [])
        _ = try gen.generate(prompts: Self.prompts, maxNewTokens: 2)
        XCTAssertEqual(gen.cachePool.cachesAllocated, allocated)
        _ = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 2, maxNewTokens: 20, sampling: s, stopTokens: [])
        let grown = gen.cachePool.cachesAllocated
        XCTAssertTrue(grown > allocated)
        _ = try gen.rollout(prompts: Self.prompts, samplesPerPrompt: 2, maxNewTokens: 20, sampling: s, stopTokens: [])
        XCTAssertEqual(gen.cachePool.cachesAllocated, grown)
    }
}
