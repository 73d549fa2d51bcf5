extension Generator {
    /// Generates after one prompt exactly as `generate(prompts: [prompt], ...)` does (the same
    /// tokens, log-probabilities and stop), handing each new token to `onToken` as soon as it is
    /// drawn, before the next decoding step: what a chat prints while the model writes.
    ///
    /// `onToken` runs on the calling thread (a single prompt is one decoding group, decoded where
    /// the call is made), so it may write to a terminal or mutate local state. The stop token
    /// that ends the answer, if one does, is handed over too, last. `until`, asked before each
    /// decoding step, stops the answer early (it then counts as not ended).
    /// - Throws: ``ModelInputError`` as `generate` does (empty prompt, id outside the vocabulary,
    ///   `maxNewTokens` below 1, prompt plus `maxNewTokens` past max_position_embeddings).
    public func stream(prompt: [Int], maxNewTokens: Int, sampling: SamplingParameters = .greedy,
                       stopTokens: Set<Int> = [], until shouldStop: (() -> Bool)? = nil, onToken: (Int) -> Void) throws -> Output {
        try model.validate(prompts: [prompt], maxNewTokens: maxNewTokens)
        return withoutActuallyEscaping(onToken) { onToken in
            context.run {
                weights?.refreshIfChanged()
                return generateGroup([prompt], firstIndex: 0, slot: 0, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: stopTokens,
                              onToken: { _, token in onToken(token) }, shouldStop: shouldStop)
            }
        }
    }
}
