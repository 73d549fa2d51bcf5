import Foundation

/// The Jinja chat template a Hugging Face checkpoint ships (`chat_template.jinja`, or the
/// `chat_template` of `tokenizer_config.json`), rendered exactly as transformers'
/// `apply_chat_template(messages, tokenize=False)` renders it.
///
/// Known to render byte for byte as transformers does (Tests/TokenizationTests, fixtures made by
/// Scripts/make-chat-template-fixtures): Qwen2 and Qwen2.5 instruct, SmolLM2 instruct, Llama 3,
/// 3.1 and 3.2 instruct, Mistral instruct v0.1, v0.2 and v0.3, Zephyr / TinyLlama chat.
///
/// Special tokens are text here: the template writes `bos_token`, `<|im_end|>` and the like into
/// its output as characters, and the segments are text-only (`special == nil`), so the tokenizer
/// must match them as added tokens (as a `tokenizer.json` tokenizer does). A template that opens
/// with `{{ bos_token }}` therefore needs the bos token in `specialTokens` as text, and the caller
/// must not add another bos id when encoding.
public struct CheckpointChatTemplate: Sendable {
    /// One message as templates see it: `{"role": ..., "content": ...}`.
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        /// - Parameters:
        ///   - role: "system", "user" or "assistant" (templates may accept others).
        ///   - content: the text.
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// Where the template came from (a file path), named in every error.
    public let origin: String
    /// The Jinja text.
    public let source: String
    /// The tokenizer's special tokens, passed to the template as variables (`bos_token`,
    /// `eos_token`, ...), as transformers passes `special_tokens_map`.
    public let specialTokens: [String: String]
    /// More variables for the template, e.g. `date_string` for Llama 3.1 and 3.2 (whose default
    /// is "26 Jul 2024" and today's date).
    public var variables: [String: String] = [:]
    /// The moment `strftime_now` formats (in local time, as `datetime.now()`); nil for the time of
    /// rendering.
    public var date: Date?
    private let template: JinjaTemplate

    /// Parses a template.
    ///
    /// - Parameters:
    ///   - source: the Jinja text.
    ///   - specialTokens: variable name to token text, e.g. `["bos_token": "<s>", "eos_token": "</s>"]`.
    ///   - origin: the file it came from, for error messages.
    /// - Throws: `ChatTemplateError` when the text is malformed or uses a filter, test or tag the
    ///   interpreter lacks (the message says to pass `--template NAME` instead).
    public init(source: String, specialTokens: [String: String], origin: String) throws {
        self.origin = origin
        self.source = source
        self.specialTokens = specialTokens
        do {
            template = try JinjaTemplate(source)
        } catch let error as JinjaError {
            throw ChatTemplateError(error, origin: origin)
        }
    }

    // MARK: - Rendering

    /// Renders messages as transformers does.
    ///
    /// - Parameters:
    ///   - messages: the conversation, system message (if any) first.
    ///   - addGenerationPrompt: append what opens an assistant turn (for templates that have it).
    /// - Throws: `ChatTemplateError`, e.g. when the template calls `raise_exception`.
    public func render(messages: [Message], addGenerationPrompt: Bool) throws -> String {
        try render(messages, addGenerationPrompt: addGenerationPrompt, now: date ?? Date())
    }

    /// The conversation as one string (no generation prompt).
    public func render(_ conversation: Conversation) throws -> String {
        try render(messages: Self.messages(conversation), addGenerationPrompt: false)
    }

    /// The generation prompt for the conversation as one string.
    public func renderPrompt(_ conversation: Conversation) throws -> String {
        try render(messages: Self.messages(conversation), addGenerationPrompt: true)
    }

    private func render(_ messages: [Message], addGenerationPrompt: Bool, now: Date) throws -> String {
        var context: [String: JinjaValue] = [
            "messages": .list(messages.map { .dict(JinjaDict([("role", .string($0.role)), ("content", .string($0.content))])) }),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "tools": .none,
            "documents": .none,
        ]
        for (name, value) in specialTokens.merging(variables, uniquingKeysWith: { $1 }) { context[name] = .string(value) }
        do {
            return try template.render(context, now: now)
        } catch let error as JinjaError {
            throw ChatTemplateError(error, origin: origin)
        }
    }

    /// The messages a conversation gives a template: its system prompt (when set) then its turns.
    /// A nil system prompt leaves the template's default in place (Qwen2.5's, SmolLM2's).
    public static func messages(_ conversation: Conversation) -> [Message] {
        (conversation.system.map { [Message(role: "system", content: $0)] } ?? [])
            + conversation.turns.map { Message(role: $0.role.rawValue, content: $0.content) }
    }

    // MARK: - Segments

    /// The conversation as segments, assistant text flagged for the training mask.
    ///
    /// A Jinja template has no notion of segments, so they are found by rendering prefixes: the
    /// assistant part of turn i is what `render(messages[...i])` adds to
    /// `render(messages[..<i], addGenerationPrompt: true)` (its answer and end marker, e.g.
    /// `"a1<|im_end|>\n"`). This needs each rendering to extend the previous one.
    ///
    /// - Throws: `ChatTemplateError` of kind `.notAPrefix` when a template rewrites earlier turns
    ///   (Mistral v0.3 moves the system prompt into the last user turn), or any render error.
    public func segments(_ conversation: Conversation) throws -> [ChatSegment] {
        let messages = Self.messages(conversation)
        let now = date ?? Date()
        var out = SegmentBuilder()
        var placed = ""
        for (index, message) in messages.enumerated() where message.role == "assistant" {
            let prompt = try render(Array(messages[..<index]), addGenerationPrompt: true, now: now)
            let through = try render(Array(messages[...index]), addGenerationPrompt: false, now: now)
            out.text(try remainder(of: prompt, after: placed, turn: index))
            out.text(try remainder(of: through, after: prompt, turn: index), assistant: true)
            placed = through
        }
        let whole = try render(messages, addGenerationPrompt: false, now: now)
        out.text(try remainder(of: whole, after: placed, turn: messages.count))
        return out.segments
    }

    /// The segments of a generation prompt: `segments(conversation)` followed by what
    /// `addGenerationPrompt` adds. They are the first segments of the same conversation with an
    /// answer appended.
    public func promptSegments(_ conversation: Conversation) throws -> [ChatSegment] {
        let answered = try segments(conversation)
        let whole = answered.map(\.text).joined()
        var out = SegmentBuilder(segments: answered)
        let prompt = try render(Self.messages(conversation), addGenerationPrompt: true, now: date ?? Date())
        out.text(try remainder(of: prompt, after: whole, turn: conversation.turns.count))
        return out.segments
    }

    /// The assistant segment of `answer` as the reply to `prompt`: its text and end marker as the
    /// template renders them.
    public func answerSegments(_ answer: String, after prompt: Conversation) throws -> [ChatSegment] {
        let now = date ?? Date()
        let messages = Self.messages(prompt)
        let before = try render(messages, addGenerationPrompt: true, now: now)
        let through = try render(messages + [Message(role: "assistant", content: answer)], addGenerationPrompt: false, now: now)
        let text = try remainder(of: through, after: before, turn: messages.count)
        return text.isEmpty ? [] : [ChatSegment(text: text, isAssistant: true)]
    }

    /// What `text` adds to `prefix`, compared as Unicode scalars (not graphemes, which would let
    /// canonically equivalent but different text pass).
    private func remainder(of text: String, after prefix: String, turn: Int) throws -> String {
        guard text.unicodeScalars.starts(with: prefix.unicodeScalars) else {
            throw ChatTemplateError(kind: .notAPrefix, line: nil, origin: origin, message:
                "the rendering up to message \(turn) does not extend the rendering before it (the template rewrites "
                + "earlier turns, e.g. moves the system prompt), so the assistant tokens cannot be located; "
                + ChatTemplateError.builtInHint)
        }
        return String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(prefix.unicodeScalars.count)))
    }
}

/// Why a checkpoint's chat template could not be loaded or rendered: the file, the template
/// line (when there is one) and what went wrong.
public struct ChatTemplateError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Malformed template text.
        case syntax
        /// Rendering failed (an undefined value used, a wrong type).
        case runtime
        /// The template called `raise_exception` (e.g. roles that do not alternate).
        case raised
        /// A construct this interpreter does not implement.
        case unsupported
        /// The template exceeded an output, loop or nesting bound.
        case limit
        /// Renderings of successive prefixes do not extend each other, so segments cannot be found.
        case notAPrefix
        /// The file is unreadable or its `chat_template` is not a template.
        case file
    }

    public var kind: Kind
    /// The template line, when the error has one.
    public var line: Int?
    public var origin: String
    public var message: String

    static let builtInHint = "pass --template NAME (the recipe key template) to use a built-in template instead ("
        + ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ") + ")"

    init(kind: Kind, line: Int?, origin: String, message: String) {
        self.kind = kind
        self.line = line
        self.origin = origin
        self.message = message
    }

    init(_ error: JinjaError, origin: String) {
        let kind: Kind
        var message = error.message
        switch error.kind {
        case .syntax: kind = .syntax
        case .runtime: kind = .runtime
        case .raised:
            kind = .raised
            message = "the template raised an error: " + message
        case .unsupported:
            kind = .unsupported
            message += "; " + ChatTemplateError.builtInHint
        case .limit:
            kind = .limit
            message += "; " + ChatTemplateError.builtInHint
        }
        self.init(kind: kind, line: error.line, origin: origin, message: message)
    }

    public var description: String {
        "\(origin): chat template" + (line.map { ", line \($0)" } ?? "") + ": " + message
    }
}
