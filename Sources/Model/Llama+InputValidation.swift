/// Checks of token ids, lengths and cache room that come from outside the process (messages,
/// files, flags), thrown as ``ModelInputError`` before any pass runs. The passes themselves keep
/// `precondition`s: after these checks only a bug of ours can break them.
extension Llama {
    /// Checks that every id is in the vocabulary.
    /// - Parameters:
    ///   - tokens: the ids.
    ///   - label: what they are, for the message (e.g. "prompt 3").
    public func validate(tokens: [Int], label: String) throws {
        for (i, t) in tokens.enumerated() where t < 0 || t >= V {
            throw ModelInputError.tokenOutsideVocabulary(token: t, vocabularySize: V, position: "\(label), token \(i)")
        }
    }

    /// Checks prompts for generation: at least one prompt, none empty, every id in the
    /// vocabulary, `maxNewTokens` at least 1, and room for each prompt plus `maxNewTokens` within
    /// max_position_embeddings.
    public func validate(prompts: [[Int]], maxNewTokens: Int) throws {
        guard !prompts.isEmpty else { throw ModelInputError.notPositive(what: "number of prompts", value: 0) }
        guard maxNewTokens >= 1 else { throw ModelInputError.notPositive(what: "max new tokens", value: maxNewTokens) }
        let limit = config.maxPositionEmbeddings
        for (p, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw ModelInputError.emptySequence("prompt \(p)") }
            try validate(tokens: prompt, label: "prompt \(p)")
            guard prompt.count + maxNewTokens <= limit else {
                throw ModelInputError.sequenceTooLong(what: "prompt \(p) (\(prompt.count) tokens) + \(maxNewTokens) new tokens",
                                                      length: prompt.count + maxNewTokens, maxPositionEmbeddings: limit)
            }
        }
    }

    /// Checks a (B, T) batch of ids for `forward(ids:acts:)`: B*T ids for these activations,
    /// each in the vocabulary, and T within max_position_embeddings.
    public func validate(ids: [Int32], acts a: TrainingActivations) throws {
        guard ids.count == a.B * a.T else {
            throw ModelInputError.countMismatch(what: "token ids for a (\(a.B), \(a.T)) batch", expected: a.B * a.T, got: ids.count)
        }
        guard a.T <= config.maxPositionEmbeddings else {
            throw ModelInputError.sequenceTooLong(what: "a batch row", length: a.T, maxPositionEmbeddings: config.maxPositionEmbeddings)
        }
        for (n, t) in ids.enumerated() where t < 0 || Int(t) >= V {
            throw ModelInputError.tokenOutsideVocabulary(token: Int(t), vocabularySize: V, position: "row \(n / a.T), position \(n % a.T)")
        }
    }

    /// `forward(ids:acts:)` after `validate(ids:acts:)`: the entry point for ids from outside.
    public func checkedForward(ids: [Int32], acts: TrainingActivations) throws {
        try validate(ids: ids, acts: acts)
        forward(ids: ids, acts: acts)
    }

    /// Checks score lengths for `scoreForward(lengths:acts:)`: one per row, each in 1...T.
    public func validate(scoreLengths lengths: [Int], acts a: TrainingActivations) throws {
        guard lengths.count == a.B else { throw ModelInputError.countMismatch(what: "score lengths (one per row)", expected: a.B, got: lengths.count) }
        for (b, n) in lengths.enumerated() where n < 1 || n > a.T {
            throw ModelInputError.lengthOutOfRange(what: "the length of row \(b)", length: n, range: 1...a.T)
        }
    }

    /// `scoreForward(lengths:acts:)` after `validate(scoreLengths:acts:)`.
    public func checkedScoreForward(lengths: [Int], acts: TrainingActivations) throws -> [Float] {
        try validate(scoreLengths: lengths, acts: acts)
        return scoreForward(lengths: lengths, acts: acts)
    }

    /// Checks segments for an inference pass over `cache`: no more segments than sequences,
    /// each naming a sequence of the cache once, none empty, ids in the vocabulary, and room in
    /// the cache for the tokens.
    public func validate(segments: [TokenSegment], cache: KVCache) throws {
        guard segments.count <= cache.batch else {
            throw ModelInputError.countMismatch(what: "at most one segment per cache sequence", expected: cache.batch, got: segments.count)
        }
        var seen = Set<Int>()
        for s in segments {
            guard s.sequence >= 0 && s.sequence < cache.batch, seen.insert(s.sequence).inserted else {
                throw ModelInputError.sequenceOutsideCache(sequence: s.sequence, batch: cache.batch)
            }
            guard !s.tokens.isEmpty else { throw ModelInputError.emptySequence("the segment of sequence \(s.sequence)") }
            let end = cache.lengths[s.sequence] + s.tokens.count
            guard end <= cache.capacity else {
                throw ModelInputError.cacheCapacityExceeded(sequence: s.sequence, length: end, capacity: cache.capacity)
            }
            for (i, t) in s.tokens.enumerated() where t < 0 || Int(t) >= V {
                throw ModelInputError.tokenOutsideVocabulary(token: Int(t), vocabularySize: V, position: "sequence \(s.sequence), token \(i)")
            }
        }
    }

    /// `inferenceLogits(_:cache:)` after `validate(segments:cache:)`: the entry point for
    /// segments from outside.
    public func checkedInferenceLogits(_ segments: [TokenSegment], cache: KVCache) throws -> UnsafeBufferPointer<Float> {
        try validate(segments: segments, cache: cache)
        return inferenceLogits(segments, cache: cache)
    }
}
