/// One batch of step-3 experiences: what the actor generated, what the other roles said of it,
/// and what the experience buffer derived from that. The spec of the experience record: every
/// per-token field is (B, R) row-major, `R = responseWidth`, with position j of row b the j-th
/// response token; positions at or past `responseLengths[b]` are padding (mask 0, value 0).
///
/// Prompts are (B, P) right-padded with `padID`; the model sees prompt + response, and the
/// log-probability of response token j is read at sequence position `promptLengths[b] - 1 + j`.
public struct ExperienceBatch: Sendable, Equatable {
    /// Which batch this is (the coordinator numbers them), the iteration it belongs to, and the
    /// policy version that generated it.
    public var batchID: UInt64
    public var iteration: Int
    public var policyVersion: Int
    /// Rows, the padded prompt width P and the padded response width R.
    public var B: Int, promptWidth: Int, responseWidth: Int
    /// Samples per prompt: rows `g*groupSize ..< (g+1)*groupSize` answer the same prompt.
    public var groupSize: Int
    /// (B) real prompt tokens per row; (B, P) prompt ids.
    public var promptLengths: [Int32]
    public var prompts: [Int32]
    /// (B) response tokens per row (the stop token included when one ended it); (B, R) ids.
    public var responseLengths: [Int32]
    public var responses: [Int32]
    /// (B) 1 when a stop token ended the response, 0 when it was cut at max_new_tokens.
    public var ended: [UInt8]
    /// (B, R) log π_sample(a_j | s_j): under the distribution the generator sampled from
    /// (temperature, top-k, top-p applied).
    public var behaviourLogProbs: [Float]
    /// (B, R) log π_θold(a_j | s_j): recomputed with the trainer's forward (no dropout) on the
    /// weights that generated the batch; the old policy of PPO's ratio.
    public var logProbs: [Float]
    /// (B, R) log π_ref(a_j | s_j) under the frozen reference.
    public var refLogProbs: [Float]
    /// (B, R) V_old(s_j) from the critic (zeros without a critic).
    public var values: [Float]
    /// (B) the reward model's (or rule's) raw score r(x, y), before clipping and penalties.
    public var scores: [Float]
    /// (B, R) per-token reward: `klPart + scorePart`.
    public var rewards: [Float]
    /// (B, R) -β KL_j, the KL penalty's share of the reward (zero for GRPO, whose KL is in the loss).
    public var klRewards: [Float]
    /// (B, R) the advantage A_j (GAE for PPO, group-relative for GRPO, leave-one-out for RLOO).
    public var advantages: [Float]
    /// (B, R) the critic's target: A_j + V_old(s_j) (PPO).
    public var returns: [Float]
    /// The padded length this batch is scored at when it is part of a larger one (`part(rows:)`),
    /// 0 for a batch of its own, which is scored at its longest row. A row's figures depend on
    /// the padded length they are computed at (sgemm's paths differ with the shape), so a
    /// replica scoring its part pads it as the whole batch would be padded, and the bits do not
    /// depend on how many replicas the rows were spread over.
    public var scoringLength = 0

    /// An empty batch of the given shape, every field zero.
    public init(batchID: UInt64, iteration: Int, policyVersion: Int, B: Int, promptWidth: Int, responseWidth: Int, groupSize: Int) {
        self.batchID = batchID
        self.iteration = iteration
        self.policyVersion = policyVersion
        self.B = B
        self.promptWidth = promptWidth
        self.responseWidth = responseWidth
        self.groupSize = groupSize
        promptLengths = [Int32](repeating: 0, count: B)
        prompts = [Int32](repeating: 0, count: B * promptWidth)
        responseLengths = [Int32](repeating: 0, count: B)
        responses = [Int32](repeating: 0, count: B * responseWidth)
        ended = [UInt8](repeating: 0, count: B)
        let perToken = [Float](repeating: 0, count: B * responseWidth)
        behaviourLogProbs = perToken
        logProbs = perToken
        refLogProbs = perToken
        values = perToken
        scores = [Float](repeating: 0, count: B)
        rewards = perToken
        klRewards = perToken
        advantages = perToken
        returns = perToken
    }

    /// A batch of these prompts and responses (one response per prompt), padded with `padID` to
    /// the longest of each, every other field zero.
    public init(prompts: [[Int32]], responses: [[Int32]], padID: Int32, batchID: UInt64 = 0, iteration: Int = 0,
                policyVersion: Int = 0, groupSize: Int = 1) {
        precondition(prompts.count == responses.count, "one response per prompt")
        let P = max(1, prompts.map(\.count).max() ?? 1), R = max(1, responses.map(\.count).max() ?? 1)
        self.init(batchID: batchID, iteration: iteration, policyVersion: policyVersion, B: prompts.count,
                  promptWidth: P, responseWidth: R, groupSize: groupSize)
        for b in 0..<B {
            promptLengths[b] = Int32(prompts[b].count)
            responseLengths[b] = Int32(responses[b].count)
            for t in 0..<P { self.prompts[b * P + t] = t < prompts[b].count ? prompts[b][t] : padID }
            for j in 0..<R { self.responses[b * R + j] = j < responses[b].count ? responses[b][j] : padID }
        }
    }

    /// Each row's per-token values of a (B, R) field, cut to the row's response length.
    public func ragged(_ field: [Float]) -> [[Float]] {
        (0..<B).map { b in Array(field[(b * responseWidth)..<(b * responseWidth + Int(responseLengths[b]))]) }
    }

    /// (B, R) 1 at real response tokens, 0 at padding.
    public var mask: [Float] {
        var m = [Float](repeating: 0, count: B * responseWidth)
        for b in 0..<B {
            for j in 0..<Int(responseLengths[b]) { m[b * responseWidth + j] = 1 }
        }
        return m
    }

    /// Real response tokens in the batch.
    public var responseTokenCount: Int { responseLengths.reduce(0) { $0 + Int($1) } }

    /// Row b's prompt ids.
    public func prompt(_ b: Int) -> [Int32] { Array(prompts[(b * promptWidth)..<(b * promptWidth + Int(promptLengths[b]))]) }
    /// Row b's response ids.
    public func response(_ b: Int) -> [Int32] { Array(responses[(b * responseWidth)..<(b * responseWidth + Int(responseLengths[b]))]) }

    /// The longest prompt + response of any row.
    public var longestRow: Int {
        (0..<B).reduce(0) { max($0, Int(promptLengths[$1]) + Int(responseLengths[$1])) }
    }

    /// The rows `rows` as a part of this batch, for a replica to score: `selecting(rows:)`, padded
    /// to this batch's padded length when scored (`scoringLength`): its longest row, or with
    /// `sharePrompts` its longest packed row (`responseLayout`; cut `rows` at group boundaries
    /// then, so that the part's groups pack as the whole batch's do).
    public func part(rows: [Int], sharePrompts: Bool = false) -> ExperienceBatch {
        var out = selecting(rows: rows)
        out.scoringLength = max(scoringLength, layoutLength(sharePrompts: sharePrompts))
        return out
    }

    /// The rows `rows` as a batch of their own (same widths), for mini-batches and replicas'
    /// parts. Its group size is this batch's when `rows` are whole groups in order (a part cut at
    /// group boundaries, whose groups must pack as the whole batch's do, `responseLayout`), else 1.
    public func selecting(rows: [Int]) -> ExperienceBatch {
        let g = groupSize
        let wholeGroups = g > 1 && rows.count % g == 0 && stride(from: 0, to: rows.count, by: g).allSatisfy { k in
            rows[k] % g == 0 && (0..<g).allSatisfy { rows[k + $0] == rows[k] + $0 }
        }
        var out = ExperienceBatch(batchID: batchID, iteration: iteration, policyVersion: policyVersion, B: rows.count,
                                  promptWidth: promptWidth, responseWidth: responseWidth, groupSize: wholeGroups ? g : 1)
        let P = promptWidth, R = responseWidth
        for (i, b) in rows.enumerated() {
            out.promptLengths[i] = promptLengths[b]
            out.responseLengths[i] = responseLengths[b]
            out.ended[i] = ended[b]
            out.scores[i] = scores[b]
            out.prompts.replaceSubrange((i * P)..<((i + 1) * P), with: prompts[(b * P)..<((b + 1) * P)])
            out.responses.replaceSubrange((i * R)..<((i + 1) * R), with: responses[(b * R)..<((b + 1) * R)])
            for path in ExperienceBatch.perTokenFields {
                out[keyPath: path].replaceSubrange((i * R)..<((i + 1) * R), with: self[keyPath: path][(b * R)..<((b + 1) * R)])
            }
        }
        return out
    }

    /// The (B, R) float fields, in the order they are recorded and sent.
    // nonisolated(unsafe): an immutable array of key paths (which are immutable objects), never
    // written after its initialisation; key paths are not marked Sendable in this Swift version.
    public nonisolated(unsafe) static let perTokenFields: [WritableKeyPath<ExperienceBatch, [Float]>] = [
        \.behaviourLogProbs, \.logProbs, \.refLogProbs, \.values, \.rewards, \.klRewards, \.advantages, \.returns,
    ]
    /// Their names in messages and logs.
    public static let perTokenFieldNames = [
        "behaviour_logprobs", "logprobs", "ref_logprobs", "values", "rewards", "kl_rewards", "advantages", "returns",
    ]
}
