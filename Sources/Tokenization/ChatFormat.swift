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
        case .checkpoint(let template): Self.markingSpecials(try template.segments(conversation), of: template)
        }
    }

    /// A generation prompt's segments: a prefix of the answered conversation's segments.
    public func promptSegments(_ conversation: Conversation) throws -> [ChatSegment] {
        switch self {
        case .builtIn(let template): template.promptSegments(conversation)
        case .checkpoint(let template): Self.markingSpecials(try template.promptSegments(conversation), of: template)
        }
    }

    /// The assistant segments of `answer` as the reply to `prompt`.
    public func answerSegments(_ answer: String, after prompt: Conversation) throws -> [ChatSegment] {
        switch self {
        case .builtIn(let template): template.answerSegments(answer, after: prompt)
        case .checkpoint(let template): Self.markingSpecials(try template.answerSegments(answer, after: prompt), of: template)
        }
    }

    /// A checkpoint template writes `bos_token` and `eos_token` into its text ("<s>[INST] ...
    /// </s>"), where transformers' tokenizer matches them as tokens. A `tokenizer.json` does that
    /// too, but a SentencePiece `tokenizer.model` (Llama 2's, Mistral 7B's) would spell them out in
    /// characters; cut out as special segments, they encode to the tokenizer's bos and eos ids
    /// whichever file it read.
    static func markingSpecials(_ segments: [ChatSegment], of template: CheckpointChatTemplate) -> [ChatSegment] {
        let literals = [(template.specialTokens["bos_token"], SpecialToken.bos), (template.specialTokens["eos_token"], .eos)]
            .compactMap { literal, token in literal.flatMap { $0.isEmpty ? nil : ($0, token) } }
        guard !literals.isEmpty else { return segments }
        var out: [ChatSegment] = []
        for segment in segments {
            guard segment.special == nil else { out.append(segment); continue }
            var rest = Substring(segment.text)
            while let (range, token) = literals.compactMap({ literal, token in rest.range(of: literal).map { ($0, token) } })
                .min(by: { $0.0.lowerBound < $1.0.lowerBound }) {
                if range.lowerBound > rest.startIndex {
                    out.append(ChatSegment(text: String(rest[..<range.lowerBound]), isAssistant: segment.isAssistant))
                }
                out.append(ChatSegment(text: String(rest[range]), isAssistant: segment.isAssistant, special: token))
                rest = rest[range.upperBound...]
            }
            if !rest.isEmpty { out.append(ChatSegment(text: String(rest), isAssistant: segment.isAssistant)) }
        }
        return out
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
        guard let checkpoint = try CheckpointChatTemplate.load(fromDirectory: directory) else { return nil }
        // A built-in template this tool wrote as chat_template.jinja (a directory copied without
        // its chat_template.json) is that template, special tokens placed structurally.
        if let own = ChatTemplate.allCases.first(where: { $0.jinjaSource == checkpoint.source }) { return .builtIn(own) }
        return .checkpoint(checkpoint)
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
