import Tensor

/// Autoregressive generation for a batch of prompts of different lengths, with a KV cache.
public struct Generator {
    public let model: Llama
    /// KV caches reused from call to call (shared by copies of this generator).
    public let cachePool = KVCachePool()
    /// The compute context generation runs under (installed on the calling thread for each
    /// call): its thread count is the number of decoding groups.
    public var context: ComputeContext
    /// Decoding groups (threads) the batch is split into: `context.threads`. A role that owns a
    /// single core sets 1. Setting it makes a context with that count (and the same cores).
    public var threads: Int {
        get { context.threads }
        set { context = ComputeContext(threads: newValue, cores: context.cores) }
    }

    /// The precision of the weights the products read (sums are float32 either way).
    public let precision: GenerationPrecision
    /// The bfloat16 copy of the model's matrices when `precision` is bfloat16 (shared by copies
    /// of this generator).
    public let weights: GenerationWeights?

    /// - Parameters:
    ///   - model: the model to sample from.
    ///   - context: the role's compute context (by default the calling thread's).
    ///   - precision: the weights' precision; bfloat16 makes a copy of the matrices now, which
    ///     `refreshWeights()` renews after the model's weights change.
    public init(model: Llama, context: ComputeContext = .current, precision: GenerationPrecision = .float32) {
        self.model = model
        self.context = context
        self.precision = precision
        weights = precision == .bfloat16 ? context.run { GenerationWeights(model: model) } : nil
    }

    /// A generator with its own context of `threads` threads.
    public init(model: Llama, threads: Int, precision: GenerationPrecision = .float32) {
        self.init(model: model, context: ComputeContext(threads: threads), precision: precision)
    }

    /// Weight bytes a decoding step reads above which a batch decodes as one group whose
    /// products split their output columns over the threads (`Linear.splitWeightBytes`), so each
    /// step reads the weights once; at or below it, as one group per thread, whose products are
    /// too small to share (waking a thread costs more than half a product saves). 32 MB: the 5M
    /// benchmark model (20 MB in float32) decodes in groups, a 126M model (200 MB in bfloat16)
    /// as one (Docs/benchmarks.md, "bfloat16 generation"). The tokens are the same bits either
    /// way: every row's products depend on its own inputs alone.
    public var oneGroupAboveBytes = 32 << 20

    /// Decoding groups a batch is split into.
    var decodingGroups: Int {
        let stepBytes = weights?.bytes ?? 4 * model.parameterCount
        return stepBytes > oneGroupAboveBytes ? 1 : threads
    }

    /// Renews the bfloat16 copy from the model's current weights (nothing to do in float32).
    /// Whoever changes the model's weights calls it; `generate` also renews a copy whose
    /// sampled fingerprint no longer matches the weights, as a safety net.
    public func refreshWeights() {
        if let weights { context.run { weights.refresh() } }
    }

    /// What came out: for each prompt, the new tokens (stop token included when one ended it).
    public struct Output: Sendable {
        public var newTokens: [[Int]]
        /// For each prompt, the log-probability of each new token under the distribution it was
        /// drawn from (temperature, top-k, top-p as applied; 0 for greedy picks).
        public var logProbs: [[Float]]
        /// For each prompt, whether a stop token ended it (false: cut at `maxNewTokens`).
        public var ended: [Bool]
        /// Decoding steps run and tokens generated, for throughput figures.
        public var steps: Int
        public var generatedTokens: Int
    }

    /// Generates up to `maxNewTokens` tokens after each prompt. A sequence stops early at any of
    /// `stopTokens`; the others go on.
    ///
    /// A small model's batch is split into one group per compute thread, each decoded on its own
    /// thread with its own KV cache: its products are too small to share between threads (waking
    /// one costs more than it saves), but two groups need no synchronisation until the end. A
    /// large model's batch is one group whose products split their output columns over the
    /// threads, so each step reads the weights once (`oneGroupAboveBytes`). Each sequence samples
    /// from its own stream of the seed and every weight product gives each row the same bits
    /// whatever its batch (`Linear.forwardByRows`), so the output does not depend on the split,
    /// the thread count or the batch's other prompts. KV caches come from `cachePool`, so
    /// repeated calls allocate none.
    /// `firstStream` is the stream of the first prompt (prompt i draws from `firstStream + i`):
    /// a part of a larger batch passes its first row, and draws what the whole batch would.
    /// - Throws: ``ModelInputError`` for an empty prompt list or prompt, a token id outside the
    ///   vocabulary, `maxNewTokens` below 1, or a prompt that would grow past max_position_embeddings.
    public func generate(prompts: [[Int]], maxNewTokens: Int, sampling: SamplingParameters = .greedy,
                         stopTokens: Set<Int> = [], firstStream: Int = 0) throws -> Output {
        try model.validate(prompts: prompts, maxNewTokens: maxNewTokens)
        return context.run {
            weights?.refreshIfChanged()
            return generateOnCurrentContext(prompts: prompts, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: stopTokens,
                                            firstStream: firstStream)
        }
    }

    private func generateOnCurrentContext(prompts: [[Int]], maxNewTokens: Int, sampling: SamplingParameters,
                                          stopTokens: Set<Int>, firstStream: Int) -> Output {
        let groups = min(decodingGroups, prompts.count)
        if groups <= 1 {
            return generateGroup(prompts, firstIndex: firstStream, slot: 0, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: stopTokens)
        }
        // Chunks run inline (one part) when called from inside another parallel region.
        var results = [Output?](repeating: nil, count: groups)
        // Each group's products run on its own thread (a chunk never splits further).
        results.withUnsafeMutableBufferPointer { slots in
            Parallel.forChunks(prompts.count, maxParts: groups) { (part: Int, range: Range<Int>) in
                slots[part] = generateGroup(Array(prompts[range]), firstIndex: firstStream + range.lowerBound, slot: part, maxNewTokens: maxNewTokens,
                                            sampling: sampling, stopTokens: stopTokens)
            }
        }
        let parts = results.compactMap { $0 }
        return Output(newTokens: parts.flatMap(\.newTokens), logProbs: parts.flatMap(\.logProbs), ended: parts.flatMap(\.ended),
                      steps: parts.map(\.steps).max() ?? 0, generatedTokens: parts.reduce(0) { $0 + $1.generatedTokens })
    }

    /// One group's generation, on the calling thread. `firstIndex` is the sampling stream of its
    /// first prompt; `slot`, the part it is of the call (it picks
    /// the KV cache). Inputs are validated by the caller.
    /// `onToken`, when given, sees each new token (sequence index in the group, token) as soon as
    /// it is drawn, on this thread (streaming, `stream(prompt:...)`); `shouldStop`, asked before
    /// each decoding step, ends the generation early (an interrupted chat answer).
    func generateGroup(_ prompts: [[Int]], firstIndex: Int, slot: Int, maxNewTokens: Int, sampling: SamplingParameters,
                       stopTokens: Set<Int>, onToken: ((_ sequence: Int, _ token: Int) -> Void)? = nil,
                       shouldStop: (() -> Bool)? = nil) -> Output {
        let longest = prompts.map(\.count).max()!
        let lease = cachePool.take(slot: slot, model: model, batch: prompts.count, capacity: longest + maxNewTokens)
        defer { cachePool.giveBack(lease) }
        let cache = lease.cache
        var samplers = (0..<prompts.count).map { Sampler(sampling, stream: firstIndex + $0) }
        let V = model.config.vocabSize
        var out = [[Int]](repeating: [], count: prompts.count)
        var logProbs = [[Float]](repeating: [], count: prompts.count)
        var ended = [Bool](repeating: false, count: prompts.count)
        var active = Array(0..<prompts.count)
        // A prompt repeated in the group (the samples of one GRPO group) is prefilled once, by
        // its first sequence, whose keys, values and logits the others then copy: a row's
        // products depend on its own tokens alone, so the copies are the bits each sequence's
        // own prefill would give.
        var leader = Array(0..<prompts.count)
        var firstOf: [[Int]: Int] = [:]
        for (i, p) in prompts.enumerated() {
            if let f = firstOf[p] { leader[i] = f } else { firstOf[p] = i }
        }
        var segments = prompts.indices.filter { leader[$0] == $0 }.map { TokenSegment(sequence: $0, tokens: prompts[$0].map(Int32.init)) }
        // The prefill's logits row of each sequence: its leader's.
        var prefillRow = [Int](repeating: 0, count: prompts.count)
        for (row, seg) in segments.enumerated() { prefillRow[seg.sequence] = row }
        for i in prompts.indices { prefillRow[i] = prefillRow[leader[i]] }
        var steps = 0, generated = 0
        var next: [Int] = [], drawn: [Float] = []
        while !active.isEmpty && steps < maxNewTokens && !(shouldStop?() ?? false) {
            let logits = model.inferenceLogits(segments, cache: cache, weights: weights)
            if steps == 0 {
                for i in prompts.indices where leader[i] != i { cache.copySequence(leader[i], to: i) }
            }
            steps += 1
            // Rows draw from their own streams, so they may split over the threads (a large
            // vocabulary's softmax per row is worth it; inside a decoding group it runs inline).
            next.removeAll(keepingCapacity: true)
            next.append(contentsOf: repeatElement(0, count: active.count))
            drawn.removeAll(keepingCapacity: true)
            drawn.append(contentsOf: repeatElement(0, count: active.count))
            let rowsPerPart = max(1, (1 << 16) / V)
            samplers.withUnsafeMutableBufferPointer { samplers in
                next.withUnsafeMutableBufferPointer { next in
                    drawn.withUnsafeMutableBufferPointer { drawn in
                        Parallel.forChunks(active.count, minChunk: rowsPerPart) { (rows: Range<Int>) in
                            for i in rows {
                                let row = steps == 1 ? prefillRow[active[i]] : i
                                (next[i], drawn[i]) = samplers[active[i]].sampleWithLogProb(
                                    UnsafeBufferPointer(rebasing: logits[(row * V)..<((row + 1) * V)]))
                            }
                        }
                    }
                }
            }
            for (i, s) in active.enumerated() { logProbs[s].append(drawn[i]) }
            var stillActive: [Int] = []
            segments.removeAll(keepingCapacity: true)
            for (i, s) in active.enumerated() {
                out[s].append(next[i])
                generated += 1
                onToken?(s, next[i])
                if stopTokens.contains(next[i]) {
                    ended[s] = true
                } else if out[s].count < maxNewTokens {
                    stillActive.append(s)
                    segments.append(TokenSegment(sequence: s, tokens: [Int32(next[i])]))
                }
            }
            active = stillActive
        }
        return Output(newTokens: out, logProbs: logProbs, ended: ended, steps: steps, generatedTokens: generated)
    }
}
