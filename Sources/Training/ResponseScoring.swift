import Model

/// Teacher-forced scoring of given responses after given prompts, through the same layout the
/// step-3 roles use (`ExperienceBatch`: response token j of row b is read at position
/// P_b + j - 1, as DeepSpeed-Chat slices `logprobs[:, start:]` with `start = prompt_length - 1`).
extension Llama {
    /// Checks prompts and responses for this model: at least one prompt, one response per
    /// prompt, no empty prompt, every id in the vocabulary, each prompt + response within
    /// max_position_embeddings.
    /// - Throws: ``ModelInputError`` naming the row.
    public func validate(prompts: [[Int]], responses: [[Int]]) throws {
        guard !prompts.isEmpty else { throw ModelInputError.notPositive(what: "number of prompts", value: 0) }
        guard responses.count == prompts.count else {
            throw ModelInputError.countMismatch(what: "responses (one per prompt)", expected: prompts.count, got: responses.count)
        }
        let limit = config.maxPositionEmbeddings
        for (b, (p, r)) in zip(prompts, responses).enumerated() {
            guard !p.isEmpty else { throw ModelInputError.emptySequence("prompt \(b)") }
            try validate(tokens: p, label: "prompt \(b)")
            try validate(tokens: r, label: "response \(b)")
            guard p.count + r.count <= limit else {
                throw ModelInputError.sequenceTooLong(what: "prompt \(b) + response \(b)", length: p.count + r.count, maxPositionEmbeddings: limit)
            }
        }
    }

    /// log π(token | prompt, earlier response tokens) of every response token, teacher-forced
    /// through the training forward with no dropout, at temperature 1.
    /// - Returns: per response, one log-probability per token.
    /// - Throws: ``ModelInputError`` as `validate(prompts:responses:)`.
    public func responseLogProbs(prompts: [[Int]], responses: [[Int]], batchSize: Int = 16,
                                 pool: ActivationPool) throws -> [[Float]] {
        try forEachResponseBatch(prompts: prompts, responses: responses, batchSize: batchSize) { batch in
            batch.ragged(try batch.logProbs(under: self, pool: pool, padID: 0))
        }
    }

    /// The critic's value at every response token's position (the state before the token): what
    /// PPO's GAE reads. The model needs a single-label score head.
    /// - Returns: per response, one value per token.
    /// - Throws: ``ModelInputError`` as `validate(prompts:responses:)`.
    public func responseValues(prompts: [[Int]], responses: [[Int]], batchSize: Int = 16,
                               pool: ActivationPool) throws -> [[Float]] {
        try forEachResponseBatch(prompts: prompts, responses: responses, batchSize: batchSize) { batch in
            let layout = try batch.responseLayout(padID: 0, maxLength: config.maxPositionEmbeddings, sharePrompts: false)
            let mb = layout.batch
            let acts = pool.scoringActivations(B: mb.B, T: mb.T)
            forward(ids: mb.ids, acts: acts, packing: mb.packing)
            let values = valuesForward(acts: acts)
            return batch.ragged(values.withUnsafeBufferPointer { layout.gather($0.baseAddress!) })
        }
    }

    /// Checks everything first (a bad row fails the call, not half of it), then scores
    /// `batchSize` rows at a time with dropout off.
    private func forEachResponseBatch(prompts: [[Int]], responses: [[Int]], batchSize: Int,
                                      score: (ExperienceBatch) throws -> [[Float]]) throws -> [[Float]] {
        guard batchSize >= 1 else { throw ModelInputError.notPositive(what: "batch size", value: batchSize) }
        try validate(prompts: prompts, responses: responses)
        let dropout = adapters?.appliesDropout
        adapters?.appliesDropout = false
        defer { if let dropout { adapters?.appliesDropout = dropout } }
        var out: [[Float]] = []
        out.reserveCapacity(prompts.count)
        for start in stride(from: 0, to: prompts.count, by: batchSize) {
            let rows = start..<min(start + batchSize, prompts.count)
            out += try score(ExperienceBatch(prompts: prompts[rows].map { $0.map(Int32.init) },
                                             responses: responses[rows].map { $0.map(Int32.init) }, padID: 0))
        }
        return out
    }
}
