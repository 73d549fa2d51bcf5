/// A chat in normalized form: an optional system prompt, then turns.
///
/// Every dataset format that holds a dialogue (messages, ShareGPT, alpaca, prompt/response,
/// DeepSpeed-Chat prompts) is read into this shape, so chat templates see one type.
/// Well-formed conversations start with a user turn and alternate; the dataset readers check
/// that, templates render whatever they are given.
public struct Conversation: Sendable, Equatable, Codable {
    /// Who speaks a turn.
    public enum Role: String, Sendable, Codable, CaseIterable {
        case user, assistant
    }

    /// One message.
    public struct Turn: Sendable, Equatable, Codable {
        public var role: Role
        public var content: String
        /// - Parameters:
        ///   - role: who speaks.
        ///   - content: the message text.
        public init(role: Role, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// The system prompt, or nil for the template's default (if it has one).
    public var system: String?
    /// The turns in order.
    public var turns: [Turn]

    /// - Parameters:
    ///   - system: the system prompt, or nil.
    ///   - turns: the messages, usually user and assistant alternating, user first.
    public init(system: String? = nil, turns: [Turn]) {
        self.system = system
        self.turns = turns
    }

    /// A one-exchange conversation (or a bare prompt when `assistant` is nil).
    public init(system: String? = nil, user: String, assistant: String? = nil) {
        var turns = [Turn(role: .user, content: user)]
        if let assistant { turns.append(Turn(role: .assistant, content: assistant)) }
        self.init(system: system, turns: turns)
    }

    /// This conversation with `content` appended as an assistant turn.
    public func appendingAssistant(_ content: String) -> Conversation {
        Conversation(system: system, turns: turns + [Turn(role: .assistant, content: content)])
    }

    /// The conversation up to (not including) its last assistant turn: what the model is
    /// prompted with to produce that turn. Unchanged when there is no assistant turn.
    public var promptForLastResponse: Conversation {
        guard let last = turns.lastIndex(where: { $0.role == .assistant }) else { return self }
        return Conversation(system: system, turns: Array(turns[..<last]))
    }
}
