/// A named chat format: how a conversation becomes the text a model is trained on and prompted
/// with.
///
/// Every template starts with the bos token and ends each assistant turn with the eos token
/// (shown as the literal the format is known by), so SFT teaches the model to stop after each
/// answer and the generators stop on eos. Renderings, for a system prompt S and two exchanges:
///
/// - `deepspeed-chat`: `<s>S Human: q1 Assistant: a1<|endoftext|> Human: q2 Assistant: a2<|endoftext|>`
///   (DeepSpeed-Chat's own datasets: prompt `" Human: q Assistant:"`, answer `" a"`, then its
///   end-of-conversation token).
/// - `vicuna`: `<s>S USER: q1 ASSISTANT: a1</s>USER: q2 ASSISTANT: a2</s>` (FastChat v1.1;
///   S defaults to FastChat's system prompt).
/// - `llama-2`: `<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nq1 [/INST] a1 </s><s>[INST] q2 [/INST] a2 </s>`.
/// - `chatml`: `<s><|im_start|>system\nS<|im_end|>\n<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n...`;
///   `<|im_end|>` is the eos token, as in Qwen's chat models.
/// - `plain`: `<s>S\nq1\na1</s>q2\na2</s>`: contents on their own lines, no role markers.
/// - `raw`: `<s>Sq1a1</s>q2a2</s>`: contents exactly as given, for data that carries its own markup.
public enum ChatTemplate: String, Sendable, Codable, CaseIterable {
    case deepspeedChat = "deepspeed-chat"
    case vicuna
    case llama2 = "llama-2"
    case chatml
    case plain
    case raw

    /// The template used when neither the command line nor the model directory names one.
    public static let `default` = ChatTemplate.deepspeedChat

    /// FastChat's vicuna v1.1 system prompt, used when a conversation has none.
    public static let vicunaSystemPrompt =
        "A chat between a curious user and an artificial intelligence assistant. "
        + "The assistant gives helpful, detailed, and polite answers to the user's questions."

    /// Looks a template up by name (case-insensitive; `llama2` and `deepspeed` also work).
    ///
    /// - Parameter name: a name as given to `--template`.
    /// - Throws: `TokenizerError` listing the known templates when the name is unknown.
    public init(named name: String) throws {
        let key = name.lowercased()
        let aliases = ["llama2": ChatTemplate.llama2, "deepspeed": .deepspeedChat, "deepspeed_chat": .deepspeedChat]
        guard let template = ChatTemplate(rawValue: key) ?? aliases[key] else {
            let known = ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")
            throw TokenizerError("unknown chat template '\(name)'; known templates: \(known)")
        }
        self = template
    }

    /// The literal this template shows for the eos token.
    public var eosLiteral: String {
        switch self {
        case .deepspeedChat: "<|endoftext|>"
        case .chatml: "<|im_end|>"
        case .vicuna, .llama2, .plain, .raw: "</s>"
        }
    }

    /// The literal shown for the bos token.
    public var bosLiteral: String { "<s>" }

    // MARK: - Rendering

    /// Renders a conversation into segments: text and special tokens, each flagged assistant or not.
    ///
    /// - Parameter conversation: the turns to render; a trailing user turn is rendered without
    ///   the assistant prefix (use `promptSegments` for a generation prompt).
    public func segments(_ conversation: Conversation) -> [ChatSegment] {
        var out = SegmentBuilder()
        out.special(.bos, literal: bosLiteral)
        appendSystem(conversation.system, to: &out)
        var previous: Conversation.Role?
        for turn in conversation.turns {
            switch turn.role {
            case .user:
                appendUser(turn.content, isFirst: previous == nil, system: conversation.system, to: &out)
            case .assistant:
                out.text(assistantPrefix)
                appendAnswer(turn.content, to: &out)
            }
            previous = turn.role
        }
        return out.segments
    }

    /// The segments of a generation prompt: the conversation (ending with a user turn) followed
    /// by the assistant prefix. They are exactly the first segments of the same conversation
    /// with an answer appended, so training and generation see the same prompt ids.
    public func promptSegments(_ conversation: Conversation) -> [ChatSegment] {
        var out = SegmentBuilder(segments: segments(conversation))
        out.text(assistantPrefix)
        return out.segments
    }

    /// The assistant segments of `answer` rendered as the reply to `prompt`: its text and end
    /// marker, the part of a sequence that reward models score and DPO compares. Encoded after
    /// `promptSegments(prompt)` they give the whole conversation's ids.
    public func answerSegments(_ answer: String, after prompt: Conversation) -> [ChatSegment] {
        let promptCount = promptSegments(prompt).count
        return segments(prompt.appendingAssistant(answer)).dropFirst(promptCount).filter(\.isAssistant)
    }

    /// The conversation as one string, special tokens shown as their literals.
    public func render(_ conversation: Conversation) -> String {
        segments(conversation).map(\.text).joined()
    }

    /// The generation prompt as one string: the conversation then the assistant prefix.
    public func renderPrompt(_ conversation: Conversation) -> String {
        promptSegments(conversation).map(\.text).joined()
    }

    // MARK: - Per-template pieces

    /// Text that opens an assistant turn; part of the prompt, so never trained on.
    private var assistantPrefix: String {
        switch self {
        case .deepspeedChat: " Assistant:"
        case .vicuna: "ASSISTANT:"
        case .chatml: "<|im_start|>assistant\n"
        case .llama2, .plain, .raw: ""
        }
    }

    private func appendSystem(_ system: String?, to out: inout SegmentBuilder) {
        switch self {
        case .deepspeedChat, .raw: out.text(system ?? "")
        case .plain: if let system { out.text(system + "\n") }
        case .vicuna: out.text((system ?? ChatTemplate.vicunaSystemPrompt) + " ")
        case .chatml:
            guard let system else { return }
            out.text("<|im_start|>system\n" + system)
            out.special(.eos, literal: eosLiteral)
            out.text("\n")
        case .llama2: break  // folded into the first user turn, as Meta's format does
        }
    }

    private func appendUser(_ content: String, isFirst: Bool, system: String?, to out: inout SegmentBuilder) {
        switch self {
        case .deepspeedChat: out.text(" Human: " + content)
        case .vicuna: out.text("USER: " + content + " ")
        case .plain: out.text(content + "\n")
        case .raw: out.text(content)
        case .chatml:
            out.text("<|im_start|>user\n" + content)
            out.special(.eos, literal: eosLiteral)
            out.text("\n")
        case .llama2:
            if !isFirst { out.special(.bos, literal: bosLiteral) }
            let systemBlock = isFirst ? system.map { "<<SYS>>\n\($0)\n<</SYS>>\n\n" } ?? "" : ""
            out.text("[INST] " + systemBlock + content + " [/INST]")
        }
    }

    private func appendAnswer(_ content: String, to out: inout SegmentBuilder) {
        switch self {
        case .deepspeedChat, .vicuna: out.text(" " + content, assistant: true)
        case .llama2: out.text(" " + content + " ", assistant: true)
        case .chatml, .plain, .raw: out.text(content, assistant: true)
        }
        out.special(.eos, literal: eosLiteral, assistant: true)
        if self == .chatml { out.text("\n") }
    }
}
