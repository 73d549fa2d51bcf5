/// One response as the run report shows it: its tokens decoded one by one, with the per-token
/// figures the experience log recorded for them, so the report can colour each token.
public struct ReportSample: Sendable, Equatable {
    /// The iteration (1-based, as `rlhf replay ls` shows it) and the row of its batch.
    public var iteration: Int
    public var row: Int
    /// Why it was chosen ("highest reward", "lowest advantage", ...).
    public var label: String
    /// The prompt as text.
    public var prompt: String
    /// The response's tokens, each decoded on its own (SentencePiece's ▁ shown as a space).
    public var tokens: [String]
    /// Per-token figures, each `tokens.count` long, by name: "advantage", "kl", "logprob",
    /// "ref_logprob", "value", "return".
    public var perToken: [String: [Float]]
    /// The reward model's (or rule's) score of the whole response.
    public var score: Float

    public init(iteration: Int, row: Int, label: String, prompt: String, tokens: [String], perToken: [String: [Float]], score: Float) {
        self.iteration = iteration
        self.row = row
        self.label = label
        self.prompt = prompt
        self.tokens = tokens
        self.perToken = perToken
        self.score = score
    }
}
