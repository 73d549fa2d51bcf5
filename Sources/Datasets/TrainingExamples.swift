/// One SFT sequence: loss on the assistant tokens only.
public struct SFTExample: Sendable, Equatable {
    /// Token ids, starting with bos.
    public var ids: [Int]
    /// True where `ids[t]` is an assistant token (an answer or its end marker): the loss for
    /// predicting `ids[t]` from `ids[..<t]` counts there and nowhere else.
    public var lossMask: [Bool]
    public var source: SourceLocation

    /// - Parameters:
    ///   - ids: the tokens.
    ///   - lossMask: one flag per token, true where the loss counts.
    ///   - source: the record the example came from.
    public init(ids: [Int], lossMask: [Bool], source: SourceLocation) {
        precondition(ids.count == lossMask.count, "one loss flag per token")
        self.ids = ids
        self.lossMask = lossMask
        self.source = source
    }
}

/// A prompt with two tokenized answers, for reward-model and DPO training.
public struct PreferenceExample: Sendable, Equatable {
    /// The prompt, ending with the template's assistant prefix.
    public var promptIDs: [Int]
    /// The preferred answer and its end marker.
    public var chosenIDs: [Int]
    /// The dispreferred answer and its end marker.
    public var rejectedIDs: [Int]
    public var source: SourceLocation

    /// - Parameters:
    ///   - promptIDs: the prompt.
    ///   - chosenIDs: the preferred answer.
    ///   - rejectedIDs: the dispreferred answer.
    ///   - source: the record the example came from.
    public init(promptIDs: [Int], chosenIDs: [Int], rejectedIDs: [Int], source: SourceLocation) {
        self.promptIDs = promptIDs
        self.chosenIDs = chosenIDs
        self.rejectedIDs = rejectedIDs
        self.source = source
    }

    /// `promptIDs + chosenIDs`: DeepSpeed-Chat's `chosen_sentence`.
    public var chosenSequence: [Int] { promptIDs + chosenIDs }
    /// `promptIDs + rejectedIDs`: DeepSpeed-Chat's `reject_sentence`.
    public var rejectedSequence: [Int] { promptIDs + rejectedIDs }
    /// Tokens in the longer of the two sequences: what the pair pads its batch to.
    public var longerSequenceLength: Int { promptIDs.count + max(chosenIDs.count, rejectedIDs.count) }
}

/// A generation prompt for PPO or GRPO (step 3), ending with the assistant prefix.
public struct PromptExample: Sendable, Equatable {
    public var ids: [Int]
    public var source: SourceLocation

    /// - Parameters:
    ///   - ids: the prompt's tokens.
    ///   - source: the record it came from.
    public init(ids: [Int], source: SourceLocation) {
        self.ids = ids
        self.source = source
    }
}

/// A pre-training sequence: loss on every token.
public struct TextExample: Sendable, Equatable {
    public var ids: [Int]
    /// The record the sequence starts in.
    public var source: SourceLocation

    /// - Parameters:
    ///   - ids: the tokens.
    ///   - source: the record the sequence starts in.
    public init(ids: [Int], source: SourceLocation) {
        self.ids = ids
        self.source = source
    }
}

/// Examples made from records, with the truncations made and the records skipped.
public struct EncodedExamples<Example: Sendable>: Sendable {
    public var examples: [Example]
    public var truncation: TruncationReport
    /// Records unsuitable for this kind of example, skipped under `skipBadRecords`.
    public var skipped: [SkippedRecord]
}
