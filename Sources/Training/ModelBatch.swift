import Datasets
import Model

/// A batch laid out for the model's kernels: token ids and next-token targets, both (B, T),
/// right-padded to the longest row. Activations are held at the largest shape met and laid over
/// smaller ones (`ActivationPool`), so lengths need not recur; rounding T up to 16, as this did
/// before, made every padded position cost as much as a real one: a step-3 mini-batch of 31-token
/// rows ran at T = 48 or 64, and its update took 1.2x as long.
///
/// `targets[b, t]` is `ids[b, t + 1]` where that token is a training target (its loss-mask flag
/// is set), else -1: the model at position t is scored on the token that follows. Padding never
/// affects real tokens: attention is causal and the padding comes after them.
public struct ModelBatch: Sendable {
    /// Rows (B) and padded length (T).
    public let B: Int, T: Int
    /// (B, T) token ids.
    public var ids: [Int32]
    /// (B, T) next-token targets, -1 where there is none.
    public var targets: [Int32]
    /// (B) real tokens per row.
    public var lengths: [Int]
    /// Where the tokens sit when each row packs several sequences sharing a prompt
    /// (`ExperienceBatch.responseLayout`), nil for plain rows.
    public var packing: PackedLayout?

    /// - Parameters:
    ///   - batch: rows from the data pipeline, padded to their longest (with the pad id it was made with).
    ///   - maxLength: the longest sequence the model takes (its max_position_embeddings).
    public init(_ batch: Batch, maxLength: Int) {
        let longest = batch.sequenceLength
        precondition(longest <= maxLength, "a row of \(longest) tokens is longer than the model's \(maxLength) positions")
        let B = batch.batchSize, T = longest
        // The data pipeline's rows are already (B, T), right-padded: only the targets are new.
        var targets = [Int32](repeating: -1, count: B * T)
        for b in 0..<B {
            for t in 0..<max(0, batch.lengths[b] - 1) where batch.lossMask[b * T + t + 1] != 0 {
                targets[b * T + t] = batch.tokens[b * T + t + 1]
            }
        }
        self.B = B
        self.T = T
        self.ids = batch.tokens
        self.targets = targets
        self.lengths = batch.lengths
    }

    /// A batch laid out by the caller: (B, T) ids and targets, (B) real lengths, and the packed
    /// layout if its rows are packed.
    public init(B: Int, T: Int, ids: [Int32], targets: [Int32], lengths: [Int], packing: PackedLayout? = nil) {
        precondition(ids.count == B * T && targets.count == B * T && lengths.count == B, "a (B, T) batch")
        precondition(packing.map { $0.positions.count == B * T } ?? true, "a packed layout for every token")
        self.B = B
        self.T = T
        self.ids = ids
        self.targets = targets
        self.lengths = lengths
        self.packing = packing
    }

    /// Real (non-padding) tokens.
    public var tokenCount: Int { lengths.reduce(0, +) }
    /// Positions that are targets.
    public var targetCount: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}

extension ModelBatch {
    /// Rows `rows` of this batch, at the same padded length T.
    public func rows(_ rows: Range<Int>) -> ModelBatch {
        let span = rows.lowerBound * T..<rows.upperBound * T
        return ModelBatch(B: rows.count, T: T, ids: Array(ids[span]), targets: Array(targets[span]), lengths: Array(lengths[rows]),
                          packing: packing?.rows(rows, T: T))
    }
}
