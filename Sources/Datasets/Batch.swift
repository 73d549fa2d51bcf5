/// A batch of sequences, right-padded to the longest one, in the flat row-major layout the
/// model's kernels read.
///
/// `tokens: (B, T)`, `lossMask: (B, T)`, `lengths: (B)`, with B = `batchSize` and
/// T = `sequenceLength` (the longest sequence in the batch, so short batches stay short).
public struct Batch: Sendable, Equatable {
    /// B.
    public let batchSize: Int
    /// T.
    public let sequenceLength: Int
    /// (B, T) token ids; positions at or past a row's length hold the pad id.
    public var tokens: [Int32]
    /// (B, T) 1 where the token is a training target (its loss counts), else 0; always 0 on padding.
    public var lossMask: [Float]
    /// (B) real tokens per row: attention covers `0..<lengths[b]`.
    public var lengths: [Int]

    /// Pads `sequences` into one batch.
    ///
    /// - Parameters:
    ///   - sequences: the rows' token ids, at least one row.
    ///   - lossMasks: one flag per token of each row, or nil for loss on every token.
    ///   - padID: the id written past each row's end (see `TextTokenizer.paddingID`).
    public init(sequences: [[Int]], lossMasks: [[Bool]]?, padID: Int) {
        precondition(!sequences.isEmpty, "a batch needs at least one row")
        precondition(lossMasks == nil || lossMasks!.count == sequences.count, "one loss mask per row")
        let B = sequences.count
        let T = sequences.map(\.count).max()!
        var tokens = [Int32](repeating: Int32(truncatingIfNeeded: padID), count: B * T)
        var lossMask = [Float](repeating: 0, count: B * T)
        tokens.withUnsafeMutableBufferPointer { out in
            lossMask.withUnsafeMutableBufferPointer { mask in
                for b in 0..<B {
                    let row = sequences[b]
                    for t in 0..<row.count { out[b * T + t] = Int32(truncatingIfNeeded: row[t]) }
                    if let masks = lossMasks {
                        precondition(masks[b].count == row.count, "row \(b): one loss flag per token")
                        for t in 0..<row.count where masks[b][t] { mask[b * T + t] = 1 }
                    } else {
                        for t in 0..<row.count { mask[b * T + t] = 1 }
                    }
                }
            }
        }
        self.batchSize = B
        self.sequenceLength = T
        self.tokens = tokens
        self.lossMask = lossMask
        self.lengths = sequences.map(\.count)
    }

    /// An SFT batch: loss on the assistant tokens.
    public init(sft examples: [SFTExample], padID: Int) {
        self.init(sequences: examples.map(\.ids), lossMasks: examples.map(\.lossMask), padID: padID)
    }

    /// A reward-model or DPO batch of 2B rows: the B chosen sequences (prompt + chosen), then the
    /// B rejected ones, as DeepSpeed-Chat's reward model concatenates them. Loss mask on the answers.
    public init(preferences examples: [PreferenceExample], padID: Int) {
        var sequences: [[Int]] = []
        var masks: [[Bool]] = []
        for answer in [\PreferenceExample.chosenIDs, \PreferenceExample.rejectedIDs] {
            for example in examples {
                sequences.append(example.promptIDs + example[keyPath: answer])
                masks.append(Array(repeating: false, count: example.promptIDs.count)
                             + Array(repeating: true, count: example[keyPath: answer].count))
            }
        }
        self.init(sequences: sequences, lossMasks: masks, padID: padID)
    }

    /// A batch of generation prompts; no loss.
    public init(prompts examples: [PromptExample], padID: Int) {
        self.init(sequences: examples.map(\.ids), lossMasks: examples.map { Array(repeating: false, count: $0.ids.count) }, padID: padID)
    }

    /// A pre-training batch: loss on every token.
    public init(text examples: [TextExample], padID: Int) {
        self.init(sequences: examples.map(\.ids), lossMasks: nil, padID: padID)
    }

    /// Row `b`'s real tokens.
    public func row(_ b: Int) -> ArraySlice<Int32> {
        tokens[(b * sequenceLength)..<(b * sequenceLength + lengths[b])]
    }
}
