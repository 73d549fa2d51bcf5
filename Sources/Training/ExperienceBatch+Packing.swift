import Model

/// An experience batch laid out for the model (`ExperienceBatch.responseLayout`), and where in
/// it each response token's figures come out.
public struct ResponseLayout: Sendable {
    /// The model batch: one row per prompt and its packed answers, or one row per experience.
    public let batch: ModelBatch
    /// (experience rows, R): the flat (B, T) position of the model batch whose target is response
    /// token j of experience row b; -1 past the row's response.
    public let responseIndex: [Int32]
    /// (experience rows): the flat (B, T) position of each experience's last token (its last
    /// response token, or its prompt's last when the response is empty): where a reward model
    /// reads its score.
    public let lastTokenIndex: [Int32]

    /// Per-position values (B, T) of the model batch, read into the experiences' (rows, R)
    /// response layout, zero past each response.
    public func gather(_ src: UnsafePointer<Float>) -> [Float] {
        responseIndex.map { $0 >= 0 ? src[Int($0)] : 0 }
    }

    /// The inverse of `gather`: (rows, R) values written at their (B, T) positions, zero
    /// everywhere else (the gradient a loss on response tokens hands the model).
    public func scatter(_ src: [Float], into dst: UnsafeMutablePointer<Float>) {
        dst.update(repeating: 0, count: batch.B * batch.T)
        for (i, n) in responseIndex.enumerated() where n >= 0 { dst[Int(n)] = src[i] }
    }
}

extension ExperienceBatch {
    /// A packed row is never longer than this many times the longest prompt + answer in it (what
    /// bounds a replica part's `scoring_length`); the square rule of `packingPlan` usually
    /// stops it well before.
    public static let packedLengthFactor = 4

    /// The model batch of these experiences and where each response token's figures are.
    ///
    /// Plain (`sharePrompts` off, or one answer per prompt): one row per experience, prompt and
    /// response end to end, right-padded with `padID`; the target at position
    /// `promptLengths[b] - 1 + j` is response token j.
    ///
    /// Shared: adjacent rows of one group (`groupSize`) with the same prompt are packed into one row: the prompt's first
    /// P - 1 tokens once, then for each answer a branch of the prompt's last token and the
    /// answer, at the positions it has unpacked, attending to the shared tokens and to its own
    /// branch only (`PackedLayout`). The branch's first token carries the target of the answer's
    /// first token, so every position has one target and every token's figures are its plain
    /// row's up to float rounding. A row takes another answer only while its attention costs no
    /// more than its answers' rows would alone (`packingPlan`).
    /// - Parameter acrossGroups: pack adjacent rows with the same prompt whatever their groups
    ///   (a mini-batch, whose rows are a few answers of each of many groups): the layout then
    ///   depends on which rows are adjacent, so never for a batch whose parts replicas score.
    /// - Throws: `TrainingError(.data)` when a prompt and its response are longer than `maxLength` positions.
    public func responseLayout(padID: Int, maxLength: Int, sharePrompts: Bool, acrossGroups: Bool = false) throws -> ResponseLayout {
        let longest = max(1, longestRow)
        guard longest <= maxLength else {
            throw TrainingError(.data, "a prompt and its response of \(longest) tokens are longer than the model's \(maxLength) positions; lower max_new_tokens or max_prompt_length")
        }
        let plan = packingPlan(sharePrompts: sharePrompts, acrossGroups: acrossGroups)
        // A part of a batch is padded to the whole batch's length (`scoringLength`), which its
        // packed rows may have taken past the model's positions even where this part packs
        // nothing: the padding then needs the explicit positions (0) a packed layout gives it,
        // since plain rows put position t at column t.
        let T = max(1, plan.map(packedLength).max() ?? 1, scoringLength)
        let explicit = T > maxLength || plan.contains { $0.branches.count > 1 }
        let rows = plan.count, R = responseWidth
        var ids = [Int32](repeating: Int32(truncatingIfNeeded: padID), count: rows * T)
        var targets = [Int32](repeating: -1, count: rows * T)
        var positions = [Int32](repeating: 0, count: rows * T), gaps = [Int32](repeating: 0, count: 2 * rows * T)
        var lengths = [Int](repeating: 0, count: rows)
        var index = [Int32](repeating: -1, count: B * R)
        var last = [Int32](repeating: 0, count: B)
        for (row, entry) in plan.enumerated() {
            let base = row * T, prompt = entry.prompt * promptWidth, P = Int(promptLengths[entry.prompt])
            for t in 0..<P - 1 {
                ids[base + t] = prompts[prompt + t]
                positions[base + t] = Int32(t)
            }
            var start = P - 1
            for b in entry.branches {
                let length = Int(responseLengths[b])
                for j in 0...length {
                    let n = base + start + j
                    ids[n] = j == 0 ? prompts[prompt + P - 1] : responses[b * R + j - 1]
                    positions[n] = Int32(P - 1 + j)
                    gaps[2 * n] = Int32(P - 1)
                    gaps[2 * n + 1] = Int32(start)
                    if j < length {
                        targets[n] = responses[b * R + j]
                        index[b * R + j] = Int32(n)
                    }
                }
                last[b] = Int32(base + start + length)
                start += 1 + length
            }
            lengths[row] = start
        }
        let packing = explicit ? PackedLayout(positions: positions, gaps: gaps) : nil
        return ResponseLayout(batch: ModelBatch(B: rows, T: T, ids: ids, targets: targets, lengths: lengths, packing: packing),
                              responseIndex: index, lastTokenIndex: last)
    }

    /// The padded length of this batch's model layout: what a part of it must be scored at to
    /// give the whole batch's bits (`part(rows:)`).
    public func layoutLength(sharePrompts: Bool) -> Int {
        packingPlan(sharePrompts: sharePrompts).map(packedLength).max() ?? 0
    }

    /// One model row: the experience row whose prompt it carries, and the rows whose answers
    /// branch off it.
    struct PackedRow {
        var prompt: Int
        var branches: [Int]
    }

    /// Whether rows `a` and `b` have the same prompt (compared in place, not copied out).
    func samePrompt(_ a: Int, _ b: Int) -> Bool {
        let n = Int(promptLengths[a])
        return n == Int(promptLengths[b]) && prompts[a * promptWidth..<a * promptWidth + n].elementsEqual(prompts[b * promptWidth..<b * promptWidth + n])
    }

    func packedLength(_ row: PackedRow) -> Int {
        Int(promptLengths[row.prompt]) - 1 + row.branches.reduce(0) { $0 + 1 + Int(responseLengths[$1]) }
    }

    /// Runs of adjacent rows of one group (any group, `acrossGroups`) with the same prompt, each
    /// cut into packed rows; one row per experience when not sharing. A packed row takes the
    /// next answer only while its length squared stays within the sum of its answers' plain
    /// lengths squared: attention's memory (the saved probabilities, T² per head and layer) and
    /// work then never exceed what the rows take alone, which is what the memory plan counts.
    /// Short answers to a long prompt pack whole (8 answers of 5 tokens to a 26-token prompt:
    /// 73² against 8 x 31²); answers as long as their prompt do not pack. A run never crosses a
    /// group boundary (unless `acrossGroups`) and its rows depend on the run alone, so a part of
    /// a batch cut at group boundaries packs as the whole batch does.
    func packingPlan(sharePrompts: Bool, acrossGroups: Bool = false) -> [PackedRow] {
        var plan: [PackedRow] = []
        var first = 0
        while first < B {
            var end = first + 1
            while sharePrompts && end < B && (acrossGroups || end % groupSize != 0) && samePrompt(end, first) { end += 1 }
            let P = Int(promptLengths[first])
            let plain = { (b: Int) in P + Int(responseLengths[b]) }
            var current = PackedRow(prompt: first, branches: [])
            var squares = 0, longest = 0
            for b in first..<end {
                var next = current
                next.branches.append(b)
                let length = packedLength(next)
                let fits = length * length <= squares + plain(b) * plain(b)
                    && length <= Self.packedLengthFactor * max(longest, plain(b))
                if !current.branches.isEmpty && !fits {
                    plan.append(current)
                    next = PackedRow(prompt: first, branches: [b])
                    squares = 0
                    longest = 0
                }
                current = next
                squares += plain(b) * plain(b)
                longest = max(longest, plain(b))
            }
            plan.append(current)
            first = end
        }
        return plan
    }
}
