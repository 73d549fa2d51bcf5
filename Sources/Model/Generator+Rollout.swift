/// Samples for reinforcement learning: each response with the log-probabilities it was drawn
/// with and whether it ended.
public struct Rollout: Sendable, Equatable {
    /// The prompt of each sample: every prompt repeated `samplesPerPrompt` times, grouped (the
    /// samples of prompt p are rows p*samplesPerPrompt ..< (p+1)*samplesPerPrompt).
    public var prompts: [[Int]]
    /// The generated tokens of each sample, the stop token included when one ended it.
    public var responses: [[Int]]
    /// log π(token) of each response token under the distribution it was drawn from:
    /// softmax(logits / temperature) renormalised over what top-k and top-p keep (0 for greedy).
    /// PPO's importance ratio uses log-probabilities recomputed by the trainer's forward instead;
    /// these are the behaviour policy's, kept alongside.
    public var logProbs: [[Float]]
    /// Whether a stop token ended each sample (false: cut at `maxNewTokens`, it never ended).
    public var ended: [Bool]
    /// Samples drawn per prompt (the group size of GRPO and RLOO).
    public var samplesPerPrompt: Int
    /// Decoding steps run (the longest response).
    public var steps: Int
    /// Tokens generated (the sum of the responses' lengths).
    public var generatedTokens: Int
    /// Prompt tokens prefilled (the sum of `prompts`' lengths).
    public var promptTokens: Int

    /// Number of samples (prompts × samplesPerPrompt).
    public var count: Int { responses.count }
}

extension Generator {
    /// Draws `samplesPerPrompt` responses for each prompt, through the same prefill and decoding
    /// as `generate`, recording each token's log-probability and whether a stop token ended it.
    ///
    /// Sample i of prompt p draws from the seed's stream `firstRow + p * samplesPerPrompt + i`,
    /// and every product gives a row the same bits whatever rows share its pass
    /// (`Linear.forwardByRows`), so a row's response and log-probabilities depend only on its
    /// prompt, its stream and the weights: not on the thread count, nor on how a batch is cut
    /// into parts (a part passes the batch row of its first sample as `firstRow`). The
    /// generator's KV caches are
    /// reused, so calling this every iteration allocates no cache once the largest batch and
    /// length have been seen.
    /// - Parameters:
    ///   - prompts: token ids, each at least one token.
    ///   - samplesPerPrompt: responses drawn per prompt (1 for PPO, the group size for GRPO).
    ///   - maxNewTokens: the longest response; a response cut there has `ended` false.
    ///   - sampling: temperature, top-k, top-p and seed.
    ///   - stopTokens: tokens that end a response (kept as its last token).
    ///   - firstRow: the stream of the first sample.
    /// - Throws: ``ModelInputError`` for an empty prompt list or prompt, a token id outside the
    ///   vocabulary, `samplesPerPrompt` or `maxNewTokens` below 1, or a prompt plus
    ///   `maxNewTokens` past max_position_embeddings.
    public func rollout(prompts: [[Int]], samplesPerPrompt: Int, maxNewTokens: Int,
                        sampling: SamplingParameters, stopTokens: Set<Int>, firstRow: Int = 0) throws -> Rollout {
        guard samplesPerPrompt >= 1 else { throw ModelInputError.notPositive(what: "samples per prompt", value: samplesPerPrompt) }
        try model.validate(prompts: prompts, maxNewTokens: maxNewTokens)
        let repeated = prompts.flatMap { [[Int]](repeating: $0, count: samplesPerPrompt) }
        let out = try generate(prompts: repeated, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: stopTokens,
                               firstStream: firstRow)
        return Rollout(prompts: repeated, responses: out.newTokens, logProbs: out.logProbs, ended: out.ended,
                       samplesPerPrompt: samplesPerPrompt, steps: out.steps, generatedTokens: out.generatedTokens,
                       promptTokens: repeated.reduce(0) { $0 + $1.count })
    }
}
