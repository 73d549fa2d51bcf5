import Model

/// Prompts followed by responses as one right-padded (B, T) batch, with each response token's
/// position: the layout the PPO roles score, evaluate and train on.
///
/// Response token j of row b (at sequence position P_b + j) is predicted at position
/// P_b + j - 1, so its log-probability and the critic's value of the state before it sit at that
/// position, as DeepSpeed-Chat slices `logprobs[:, start:]` and `values[:, start:]` with
/// `start = prompt_length - 1`. `targets` holds the response tokens at those positions, -1
/// elsewhere (prompt and padding are never scored).
public struct ResponseBatch: Sendable {
    /// Rows and padded length: T is the longest prompt + response rounded up to a multiple of
    /// `ModelBatch.lengthMultiple` (never past max_position_embeddings), so few shapes recur.
    public let B: Int, T: Int
    /// (B, T) token ids, padded with `padID`.
    public var ids: [Int32]
    /// (B, T) the response token predicted at each position, -1 where none is.
    public var targets: [Int32]
    /// (B) prompt and response lengths.
    public var promptLengths: [Int], responseLengths: [Int]

    /// - Parameters:
    ///   - prompts: each at least one token.
    ///   - responses: one per prompt (may be empty: nothing is scored in that row).
    ///   - model: the model that will run the batch (its vocabulary and positions are the limits).
    ///   - padID: the id written into the padding (any id of the vocabulary: causal attention
    ///     keeps padding after the real tokens from affecting them).
    /// - Throws: ``ModelInputError`` for mismatched counts, an empty prompt, an id outside the
    ///   vocabulary or a row longer than max_position_embeddings.
    public init(prompts: [[Int]], responses: [[Int]], model: Llama, padID: Int = 0) throws {
        try ResponseBatch.validate(prompts: prompts, responses: responses, model: model)
        try model.validate(tokens: [padID], label: "the pad id")
        let longest = zip(prompts, responses).map { $0.count + $1.count }.max()!
        let m = ModelBatch.lengthMultiple
        let B = prompts.count, T = min((longest + m - 1) / m * m, model.config.maxPositionEmbeddings)
        var ids = [Int32](repeating: Int32(padID), count: B * T)
        var targets = [Int32](repeating: -1, count: B * T)
        for b in 0..<B {
            let p = prompts[b], r = responses[b]
            for (t, id) in (p + r).enumerated() { ids[b * T + t] = Int32(id) }
            for (j, id) in r.enumerated() { targets[b * T + p.count + j - 1] = Int32(id) }
        }
        self.B = B
        self.T = T
        self.ids = ids
        self.targets = targets
        promptLengths = prompts.map(\.count)
        responseLengths = responses.map(\.count)
    }

    /// Checks prompts and responses for `model`: at least one prompt, one response per prompt,
    /// no empty prompt, every id in the vocabulary, each prompt + response within
    /// max_position_embeddings.
    public static func validate(prompts: [[Int]], responses: [[Int]], model: Llama) throws {
        guard !prompts.isEmpty else { throw ModelInputError.notPositive(what: "number of prompts", value: 0) }
        guard responses.count == prompts.count else {
            throw ModelInputError.countMismatch(what: "responses (one per prompt)", expected: prompts.count, got: responses.count)
        }
        let limit = model.config.maxPositionEmbeddings
        for (b, (p, r)) in zip(prompts, responses).enumerated() {
            guard !p.isEmpty else { throw ModelInputError.emptySequence("prompt \(b)") }
            try model.validate(tokens: p, label: "prompt \(b)")
            try model.validate(tokens: r, label: "response \(b)")
            guard p.count + r.count <= limit else {
                throw ModelInputError.sequenceTooLong(what: "prompt \(b) + response \(b)", length: p.count + r.count, maxPositionEmbeddings: limit)
            }
        }
    }

    /// The flat index (b * T + t) of the position that predicts response token j of row b.
    @inline(__always)
    public func position(row b: Int, token j: Int) -> Int { b * T + promptLengths[b] + j - 1 }

    /// Per-position values (B*T, e.g. `acts.logprobs` or critic values) cut into one list per
    /// response, one entry per response token.
    public func gather(_ perPosition: UnsafePointer<Float>) -> [[Float]] {
        (0..<B).map { b in (0..<responseLengths[b]).map { j in perPosition[position(row: b, token: j)] } }
    }

    /// The inverse of `gather`: writes per-token values (e.g. a loss's gradient) at their
    /// positions of a (B*T) buffer and zero everywhere else.
    public func scatter(_ perToken: [[Float]], into out: UnsafeMutablePointer<Float>) {
        precondition(perToken.count == B && zip(perToken, responseLengths).allSatisfy { $0.count == $1 },
                     "one value per response token")
        out.update(repeating: 0, count: B * T)
        for b in 0..<B { for (j, v) in perToken[b].enumerated() { out[position(row: b, token: j)] = v } }
    }
}

extension Llama {
    /// log π(token | prompt, earlier response tokens) of every response token, teacher-forced
    /// through the training forward with no dropout (PPO's "old" and reference log-probs and the
    /// recomputed behaviour log-probs): softmax at temperature 1 over the whole vocabulary.
    /// - Parameters:
    ///   - prompts: each at least one token.
    ///   - responses: one per prompt.
    ///   - batchSize: rows per forward pass.
    ///   - pool: activations for this model's configuration.
    /// - Returns: per response, one log-probability per token.
    /// - Throws: ``ModelInputError`` as ``ResponseBatch/init(prompts:responses:model:padID:)``.
    public func responseLogProbs(prompts: [[Int]], responses: [[Int]], batchSize: Int = 16,
                                 pool: ActivationPool) throws -> [[Float]] {
        try forEachResponseBatch(prompts: prompts, responses: responses, batchSize: batchSize, pool: pool) { batch, acts in
            languageModelForward(targets: batch.targets, acts: acts, keepLogits: false)
            return batch.gather(acts.logprobs.pointer)
        }
    }

    /// The critic's value at every response token's position (the state before the token), from
    /// `valuesForward`: what PPO's GAE reads. The model needs a single-label score head.
    /// - Returns: per response, one value per token.
    /// - Throws: ``ModelInputError`` as ``ResponseBatch/init(prompts:responses:model:padID:)``.
    public func responseValues(prompts: [[Int]], responses: [[Int]], batchSize: Int = 16,
                               pool: ActivationPool) throws -> [[Float]] {
        try forEachResponseBatch(prompts: prompts, responses: responses, batchSize: batchSize, pool: pool) { batch, acts in
            let values = valuesForward(acts: acts)
            return values.withUnsafeBufferPointer { batch.gather($0.baseAddress!) }
        }
    }

    /// Runs the decoder forward (dropout off) over `batchSize` rows at a time and concatenates
    /// what `head` reads from each batch's activations.
    private func forEachResponseBatch(prompts: [[Int]], responses: [[Int]], batchSize: Int, pool: ActivationPool,
                                      head: (ResponseBatch, TrainingActivations) -> [[Float]]) throws -> [[Float]] {
        guard batchSize >= 1 else { throw ModelInputError.notPositive(what: "batch size", value: batchSize) }
        // Everything is checked before the first pass (errors name rows of the whole call), so a
        // bad row fails the call, not half of it.
        try ResponseBatch.validate(prompts: prompts, responses: responses, model: self)
        var batches: [ResponseBatch] = []
        for start in stride(from: 0, to: prompts.count, by: batchSize) {
            let end = min(start + batchSize, prompts.count)
            batches.append(try ResponseBatch(prompts: Array(prompts[start..<end]), responses: Array(responses[start..<end]), model: self))
        }
        let dropout = adapters?.appliesDropout
        adapters?.appliesDropout = false
        defer { if let dropout { adapters?.appliesDropout = dropout } }
        var out: [[Float]] = []
        out.reserveCapacity(prompts.count)
        for batch in batches {
            let acts = pool.activations(B: batch.B, T: batch.T)
            forward(ids: batch.ids, acts: acts)
            out += head(batch, acts)
        }
        return out
    }
}
