/// How a prompt and a response are fitted into `maxLength` tokens, the way trl and
/// DeepSpeed-Chat users expect:
///
/// - when prompt + response fit, both are kept whole (however long the prompt);
/// - otherwise the prompt keeps as much of itself as leaves the whole response room, but at
///   least `maxPromptLength` tokens: a longer prompt keeps its last tokens (left truncation, as
///   trl's `keep_end`; the leading bos stays);
/// - then the response is cut from the right to what is left.
///
/// Because `maxPromptLength < maxLength`, every response keeps at least one token.
public struct TruncationRule: Sendable, Codable, Equatable {
    /// The longest sequence, prompt and response together.
    public let maxLength: Int
    /// The prompt's length when it has to give way.
    public let maxPromptLength: Int

    /// - Parameters:
    ///   - maxLength: the longest sequence (at least 2).
    ///   - maxPromptLength: the prompt's budget when both do not fit; default half of `maxLength`.
    /// - Throws: `DatasetError` of kind `.invalidOption` unless `1 <= maxPromptLength < maxLength`.
    public init(maxLength: Int, maxPromptLength: Int? = nil) throws {
        let promptLength = maxPromptLength ?? maxLength / 2
        guard maxLength >= 2 else {
            throw DatasetError(.invalidOption, field: "--max-length", expected: "at least 2", got: "\(maxLength)")
        }
        guard promptLength >= 1, promptLength < maxLength else {
            throw DatasetError(.invalidOption, field: "--max-prompt-length",
                               expected: "between 1 and --max-length - 1 (\(maxLength - 1))", got: "\(promptLength)")
        }
        self.maxLength = maxLength
        self.maxPromptLength = promptLength
    }

    /// How many prompt and response tokens to keep.
    ///
    /// - Parameters:
    ///   - prompt: the prompt's length in tokens.
    ///   - response: the response's length (for a preference pair, the longer answer's).
    public func lengths(prompt: Int, response: Int) -> (prompt: Int, response: Int) {
        if prompt + response <= maxLength { return (prompt, response) }
        let keptPrompt = min(prompt, max(maxPromptLength, maxLength - response))
        return (keptPrompt, min(response, maxLength - keptPrompt))
    }

    /// The last `count` tokens of `ids`, keeping a leading bos in front when there is one.
    static func keepingLast(_ count: Int, of ids: ArraySlice<Int>, bosID: Int) -> [Int] {
        guard ids.count > count else { return Array(ids) }
        if count >= 2, ids.first == bosID { return [bosID] + ids.suffix(count - 1) }
        return Array(ids.suffix(count))
    }
}

/// How many examples were truncated, and by how much, for the run's log.
public struct TruncationReport: Sendable, Codable, Equatable, CustomStringConvertible {
    /// Examples made.
    public var examples = 0
    /// Examples whose prompt was left-truncated.
    public var promptsTruncated = 0
    /// Examples whose response (either answer, for a pair; the text, for pre-training) was cut.
    public var responsesTruncated = 0
    public var promptTokensRemoved = 0
    public var responseTokensRemoved = 0

    /// An empty report.
    public init() {}

    /// True when nothing was cut.
    public var isEmpty: Bool { promptsTruncated == 0 && responsesTruncated == 0 }

    public var description: String {
        if isEmpty { return "\(examples) examples, none truncated" }
        return "\(examples) examples: \(promptsTruncated) prompts left-truncated (\(promptTokensRemoved) tokens removed), "
            + "\(responsesTruncated) responses cut at the right (\(responseTokensRemoved) tokens removed)"
    }

    mutating func count(prompt: Int, keptPrompt: Int) {
        if keptPrompt < prompt { promptsTruncated += 1; promptTokensRemoved += prompt - keptPrompt }
    }
}
