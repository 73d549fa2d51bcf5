/// The record layouts the readers understand, detected from a record's fields or named with
/// `--format`.
///
/// | format | fields | becomes |
/// |---|---|---|
/// | `preference` | `prompt`, `chosen`, `rejected` (also `question`, `response_chosen`, `response_rejected`) | `PreferencePair` |
/// | `prompt-response` | `prompt`/`query`/`question` and `response`/`completion`/`answer` | one exchange |
/// | `messages` | `messages`: [{`role`, `content`}] | a conversation |
/// | `sharegpt` | `conversations`: [{`from`, `value`}] with human/gpt/system | a conversation |
/// | `alpaca` | `instruction`, `input` (may be empty or absent), `output` | one exchange |
/// | `text` | `text` | `TextRecord` |
/// | `prompt` | `prompt` only (step-3 prompts) | a conversation without an answer |
///
/// Detection tries the formats in the order above, so a record with `prompt`, `chosen` and
/// `rejected` is a preference record even though it also has a `prompt`.
public enum DatasetFormat: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case preference
    case promptResponse = "prompt-response"
    case messages
    case sharegpt
    case alpaca
    case text
    case prompt

    /// Looks a format up by name, as `--format` takes it (case-insensitive; a few common other
    /// names such as `dpo`, `chat` or `pretrain` work too).
    ///
    /// - Throws: `DatasetError` of kind `.invalidOption` listing the known names.
    public init(named name: String) throws {
        let key = name.lowercased().replacingOccurrences(of: "_", with: "-")
        let aliases: [String: DatasetFormat] = [
            "dpo": .preference, "rm": .preference, "pairwise": .preference, "comparison": .preference,
            "prompt/chosen/rejected": .preference, "dahoas": .preference, "deepspeed-chat": .preference,
            "prompt/response": .promptResponse, "completion": .promptResponse, "prompt-completion": .promptResponse,
            "chat": .messages, "openai": .messages, "share-gpt": .sharegpt, "conversations": .sharegpt,
            "instruction": .alpaca, "pretrain": .text, "pt": .text, "prompts": .prompt,
        ]
        guard let format = DatasetFormat(rawValue: key) ?? aliases[key] else {
            throw DatasetError(.invalidOption, field: "--format",
                               expected: "one of " + DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "),
                               got: "'\(name)'")
        }
        self = format
    }

    public var description: String { rawValue }

    /// The fields this format reads, for messages and reports.
    public var fieldsDescription: String {
        switch self {
        case .preference: "prompt, chosen, rejected"
        case .promptResponse: "prompt, response"
        case .messages: "messages: [{role, content}]"
        case .sharegpt: "conversations: [{from, value}]"
        case .alpaca: "instruction, input, output"
        case .text: "text"
        case .prompt: "prompt"
        }
    }

    /// Every format with its fields, one per clause, for "expected ..." messages.
    static var catalogue: String {
        allCases.map { "\($0.rawValue) (\($0.fieldsDescription))" }.joined(separator: "; ")
    }

    // MARK: - Field names

    /// A preference record's prompt (MedicalGPT calls it `question`).
    static let promptFields = ["prompt", "question", "query", "instruction"]
    /// A prompt/response record's prompt.
    static let promptResponsePromptFields = ["prompt", "query", "question"]
    static let chosenFields = ["chosen", "response_chosen"]
    static let rejectedFields = ["rejected", "response_rejected"]
    static let responseFields = ["response", "completion", "answer"]

    /// The format a record with these fields is in, or nil when none fits.
    ///
    /// - Parameter fields: the record's top-level field names.
    public static func detect(fields: Set<String>) -> DatasetFormat? {
        func has(_ names: [String]) -> Bool { names.contains(where: fields.contains) }
        if has(chosenFields) && has(rejectedFields) { return .preference }
        if fields.contains("messages") { return .messages }
        if fields.contains("conversations") { return .sharegpt }
        if fields.contains("instruction") && fields.contains("output") { return .alpaca }
        if has(promptResponsePromptFields) && has(responseFields) { return .promptResponse }
        if fields.contains("text") { return .text }
        if fields.contains("prompt") { return .prompt }
        return nil
    }
}
