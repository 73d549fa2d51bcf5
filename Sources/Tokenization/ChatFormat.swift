import Foundation

/// How a model's conversations become text: one of the built-in templates, or the Jinja template
/// its checkpoint ships (Qwen2, Llama 3, SmolLM2, Mistral), rendered as transformers does.
///
/// Everything that renders conversations (SFT and reward data, DPO pairs, step 3's prompts,
/// `rlhf chat`) takes a `ChatFormat`, so a checkpoint's own template is used end to end.
public enum ChatFormat: Sendable {
    case builtIn(ChatTemplate)
    case checkpoint(CheckpointChatTemplate)

    /// What the run log and `rlhf data inspect` call it: the built-in name, or the file the
    /// checkpoint's template came from.
    public var name: String {
        switch self {
        case .builtIn(let template): template.rawValue
        case .checkpoint(let template): "checkpoint template (\(template.origin))"
        }
    }

    /// The text shown for the bos token: the built-in template's literal, or the checkpoint's
    /// `bos_token`. Encoding uses the tokenizer's id, not this text.
    public var bosLiteral: String {
        switch self {
        case .builtIn(let template): template.bosLiteral
        case .checkpoint(let template): template.specialTokens["bos_token"] ?? ""
        }
    }

    /// The text shown for the eos token.
    public var eosLiteral: String {
        switch self {
        case .builtIn(let template): template.eosLiteral
        case .checkpoint(let template): template.specialTokens["eos_token"] ?? ""
        }
    }

    /// The built-in template, when this is one.
    public var builtIn: ChatTemplate? {
        if case .builtIn(let template) = self { return template }
        return nil
    }

    /// The conversation as segments, assistant parts flagged (see `ChatTemplate.segments`).
    public func segments(_ conversation: Conversation) throws -> [ChatSegment] {
        switch self {
        case .builtIn(let template): template.segments(conversation)
        case .checkpoint(let template): try template.segments(conversation)
        }
    }

    /// A generation prompt's segments: a prefix of the answered conversation's segments.
    public func promptSegments(_ conversation: Conversation) throws -> [ChatSegment] {
        switch self {
        case .builtIn(let template): template.promptSegments(conversation)
        case .checkpoint(let template): try template.promptSegments(conversation)
        }
    }

    /// The assistant segments of `answer` as the reply to `prompt`.
    public func answerSegments(_ answer: String, after prompt: Conversation) throws -> [ChatSegment] {
        switch self {
        case .builtIn(let template): template.answerSegments(answer, after: prompt)
        case .checkpoint(let template): try template.answerSegments(answer, after: prompt)
        }
    }

    /// The conversation as one string.
    public func render(_ conversation: Conversation) throws -> String {
        try segments(conversation).map(\.text).joined()
    }

    /// The generation prompt as one string.
    public func renderPrompt(_ conversation: Conversation) throws -> String {
        try promptSegments(conversation).map(\.text).joined()
    }

    /// The format of a model directory: the built-in template named (`--template`), else the one
    /// saved with the model (`chat_template.json`), else the checkpoint's own Jinja template
    /// (`chat_template.jinja` or `tokenizer_config.json`), else `ChatTemplate.default`.
    ///
    /// - Throws: for an unknown name, an unreadable file, or a checkpoint template this tool
    ///   cannot render (the message names `--template` as the way out).
    public static func resolve(name: String?, modelDirectory: String?) throws -> ChatFormat {
        if let name { return .builtIn(try ChatTemplate(named: name)) }
        return try load(fromDirectory: modelDirectory) ?? .builtIn(.default)
    }

    /// The format saved with a model directory (as `resolve` finds it without a name), or nil.
    public static func load(fromDirectory directory: String?) throws -> ChatFormat? {
        guard let directory else { return nil }
        if let saved = try ChatTemplate.load(fromDirectory: directory) { return .builtIn(saved) }
        if let checkpoint = try CheckpointChatTemplate.load(fromDirectory: directory) { return .checkpoint(checkpoint) }
        return nil
    }

    /// Records the format with a model written to `directory`. A built-in template is named in
    /// `chat_template.json` (read first by this tool) and written as `chat_template.jinja` (read
    /// first by transformers), so both render the same text; a checkpoint's template travels in
    /// the tokenizer files copied beside the model, so nothing is written.
    public func save(toDirectory directory: String) throws {
        guard case .builtIn(let template) = self else { return }
        try template.save(toDirectory: directory)
        try AtomicFileWrite.write(Data(template.jinjaSource.utf8),
                                  to: (directory as NSString).appendingPathComponent(TransformersTokenizerConfig.chatTemplateFileName),
                                  what: "the chat template")
    }
}
