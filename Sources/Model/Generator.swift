/// Autoregressive generation for a batch of prompts of different lengths, with a KV cache.
public struct Generator {
    public let model: Llama

    public init(model: Llama) { self.model = model }

    /// What came out: for each prompt, the new tokens (stop token included when one ended it).
    public struct Output: Sendable {
        public var newTokens: [[Int]]
        /// Decoding steps run and tokens generated, for throughput figures.
        public var steps: Int
        public var generatedTokens: Int
    }

    /// Generates up to `maxNewTokens` tokens after each prompt. A sequence stops early at any of
    /// `stopTokens`; the others go on. Prompts are prefilled together in one pass.
    public func generate(prompts: [[Int]], maxNewTokens: Int, sampling: SamplingParameters = .greedy,
                         stopTokens: Set<Int> = []) -> Output {
        precondition(!prompts.isEmpty && prompts.allSatisfy { !$0.isEmpty }, "every prompt needs at least one token")
        let longest = prompts.map(\.count).max()!
        let cache = KVCache(model: model, batch: prompts.count, capacity: longest + maxNewTokens)
        var sampler = Sampler(sampling)
        let V = model.config.vocabSize
        var out = [[Int]](repeating: [], count: prompts.count)
        var active = Array(0..<prompts.count)
        var segments = prompts.enumerated().map { TokenSegment(sequence: $0.offset, tokens: $0.element.map(Int32.init)) }
        var steps = 0, generated = 0
        while !active.isEmpty && steps < maxNewTokens {
            let logits = model.inferenceForward(segments, cache: cache)
            steps += 1
            var next: [Int] = []
            logits.withUnsafeBufferPointer { l in
                for i in 0..<active.count {
                    next.append(sampler.sample(UnsafeBufferPointer(rebasing: l[(i * V)..<((i + 1) * V)])))
                }
            }
            var stillActive: [Int] = []
            segments.removeAll(keepingCapacity: true)
            for (i, s) in active.enumerated() {
                out[s].append(next[i])
                generated += 1
                if !stopTokens.contains(next[i]) && out[s].count < maxNewTokens {
                    stillActive.append(s)
                    segments.append(TokenSegment(sequence: s, tokens: [Int32(next[i])]))
                }
            }
            active = stillActive
        }
        return Output(newTokens: out, steps: steps, generatedTokens: generated)
    }
}
