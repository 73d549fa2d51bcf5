import Tokenization

/// Turns records into token-level training examples, once, before training starts.
///
/// Which records suit which examples:
/// - SFT: conversations (user turns after the last answer are dropped: nothing learns from
///   them); preference pairs as prompt + chosen (DeepSpeed-Chat's step-1 `chosen_sentence`);
///   text as one all-loss answer after bos.
/// - preference: preference pairs only.
/// - prompt (step 3): conversations, up to their last user turn; preference pairs' prompts.
/// - text (pre-training): text records only.
///
/// Any other pairing is a `.unsuitableRecord` error naming the record, or a skipped record under
/// `skipBadRecords`.
public struct ExampleEncoder: Sendable {
    public var template: ChatFormat
    public var tokenizer: any TextTokenizer
    public var truncation: TruncationRule
    /// Skip unsuitable records (and report them) instead of stopping.
    public var skipBadRecords: Bool

    /// - Parameters:
    ///   - template: the chat template that renders conversations.
    ///   - tokenizer: the model's tokenizer.
    ///   - truncation: the length limits.
    ///   - skipBadRecords: skip unsuitable records instead of failing.
    public init(template: ChatFormat, tokenizer: any TextTokenizer, truncation: TruncationRule, skipBadRecords: Bool = false) {
        self.template = template
        self.tokenizer = tokenizer
        self.truncation = truncation
        self.skipBadRecords = skipBadRecords
    }

    // MARK: - SFT

    /// SFT examples: loss on every assistant turn's tokens and end marker, nothing else.
    /// Too-long examples follow `truncation` with the prompt being everything before the first
    /// assistant token.
    public func sftExamples(_ records: [DatasetRecord]) throws -> EncodedExamples<SFTExample> {
        try encodeEach(records) { record, report in
            let segments: [ChatSegment]
            switch record.content {
            case .conversation(let conversation):
                guard let last = conversation.turns.lastIndex(where: { $0.role == .assistant }) else {
                    throw unsuitable(record, for: "SFT", expected: "a conversation with at least one assistant turn")
                }
                segments = try template.segments(Conversation(system: conversation.system, turns: Array(conversation.turns[...last])))
            case .preference(let pair):
                segments = try template.segments(pair.prompt.appendingAssistant(pair.chosen))
            case .text(let text):
                segments = [ChatSegment(text: template.bosLiteral, isAssistant: false, special: .bos),
                            ChatSegment(text: text.text, isAssistant: true),
                            ChatSegment(text: template.eosLiteral, isAssistant: true, special: .eos)]
            }
            let (ids, isAssistant) = try tokenizer.encode(segments)
            let promptCount = isAssistant.firstIndex(of: true) ?? ids.count
            let (keptPrompt, keptResponse) = truncation.lengths(prompt: promptCount, response: ids.count - promptCount)
            report.count(prompt: promptCount, keptPrompt: keptPrompt)
            if keptResponse < ids.count - promptCount {
                report.responsesTruncated += 1
                report.responseTokensRemoved += ids.count - promptCount - keptResponse
            }
            let prompt = TruncationRule.keepingLast(keptPrompt, of: ids[..<promptCount], bosID: tokenizer.bosID)
            let response = ids[promptCount..<(promptCount + keptResponse)]
            let mask = repeatElement(false, count: prompt.count) + isAssistant[promptCount..<(promptCount + keptResponse)]
            return SFTExample(ids: prompt + response, lossMask: Array(mask), source: record.source)
        }
    }

    // MARK: - Preference pairs

    /// Reward-model and DPO examples. The prompt is shared, so it is truncated once, against the
    /// longer answer; each answer is then cut to what is left.
    public func preferenceExamples(_ records: [DatasetRecord]) throws -> EncodedExamples<PreferenceExample> {
        try encodeEach(records) { record, report in
            guard case .preference(let pair) = record.content else {
                throw unsuitable(record, for: "reward-model or DPO training", expected: "a prompt/chosen/rejected record")
            }
            let promptSegments = try template.promptSegments(pair.prompt)
            let prompt = try tokenizer.encode(promptSegments).ids
            let chosen = try tokenizer.encode(try template.answerSegments(pair.chosen, after: pair.prompt)).ids
            let rejected = try tokenizer.encode(try template.answerSegments(pair.rejected, after: pair.prompt)).ids
            let (keptPrompt, keptResponse) = truncation.lengths(prompt: prompt.count, response: max(chosen.count, rejected.count))
            report.count(prompt: prompt.count, keptPrompt: keptPrompt)
            let removed = max(0, chosen.count - keptResponse) + max(0, rejected.count - keptResponse)
            if removed > 0 {
                report.responsesTruncated += 1
                report.responseTokensRemoved += removed
            }
            return PreferenceExample(promptIDs: TruncationRule.keepingLast(keptPrompt, of: prompt[...], bosID: tokenizer.bosID),
                                     chosenIDs: Array(chosen.prefix(keptResponse)),
                                     rejectedIDs: Array(rejected.prefix(keptResponse)),
                                     source: record.source)
        }
    }

    // MARK: - Prompts

    /// Step-3 generation prompts, left-truncated to `maxPromptLength`.
    public func promptExamples(_ records: [DatasetRecord]) throws -> EncodedExamples<PromptExample> {
        try encodeEach(records) { record, report in
            let conversation: Conversation
            switch record.content {
            case .conversation(let c): conversation = c.promptForLastResponse
            case .preference(let pair): conversation = pair.prompt
            case .text: throw unsuitable(record, for: "PPO prompts", expected: "a conversation or a preference record")
            }
            let ids = try tokenizer.encode(try template.promptSegments(conversation)).ids
            let kept = min(ids.count, truncation.maxPromptLength)
            report.count(prompt: ids.count, keptPrompt: kept)
            return PromptExample(ids: TruncationRule.keepingLast(kept, of: ids[...], bosID: tokenizer.bosID), source: record.source)
        }
    }

    // MARK: - Shared

    /// Applies `make` to each record, counting examples and collecting (or throwing) unsuitable ones.
    func encodeEach<Example: Sendable>(
        _ records: [DatasetRecord], _ make: (DatasetRecord, inout TruncationReport) throws -> Example
    ) throws -> EncodedExamples<Example> {
        var result = EncodedExamples<Example>(examples: [], truncation: TruncationReport(), skipped: [])
        result.examples.reserveCapacity(records.count)
        for record in records {
            do {
                result.examples.append(try make(record, &result.truncation))
                result.truncation.examples += 1
            } catch let error as DatasetError where skipBadRecords {
                result.skipped.append(SkippedRecord(error, line: record.source.line))
            } catch let error as ChatTemplateError {
                // A checkpoint template that raises for a record (Mistral's on roles that do not
                // alternate) or rewrites earlier turns: the record is named, and skippable.
                let failure = DatasetError(.chatTemplateRefused, file: record.source.file, line: record.source.line, hint: error.description)
                guard skipBadRecords else { throw failure }
                result.skipped.append(SkippedRecord(failure, line: record.source.line))
            }
        }
        return result
    }

    func unsuitable(_ record: DatasetRecord, for use: String, expected: String) -> DatasetError {
        DatasetError(.unsuitableRecord, file: record.source.file, line: record.source.line,
                     expected: "\(expected) for \(use)", got: "a \(record.kindName) record")
    }
}
