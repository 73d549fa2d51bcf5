import Foundation

/// A conversation with a model as `rlhf chat` holds it: the turns so far, rendered whole with the
/// model's chat template each time the user speaks, and kept short enough for the model's context.
///
/// It lives here, beside `Conversation` and `ChatTemplate`, because it needs only them and a
/// tokenizer (to count a prompt's tokens): no model, so its history and truncation rules are
/// tested without loading one. The command that uses it owns generation and the terminal.
///
/// The history is text: an answer is recorded as decoded and encoded again with the next prompt,
/// as DeepSpeed-Chat's `chat.py` keeps its conversation. When a prompt does not fit in
/// `promptBudget` tokens (the model's context less the room kept for the answer), the oldest
/// exchanges (a user turn and its answer) are dropped for good, oldest first, until it does.
public struct ChatSession: Sendable {
    /// The template every prompt is rendered with (the one the model was trained with).
    public let template: ChatFormat
    /// Counts and encodes prompts.
    public let tokenizer: any TextTokenizer
    /// The system prompt, or nil for the template's default; kept across `clear()`.
    public let system: String?
    /// The longest prompt, in tokens: the model's context less the tokens kept for an answer.
    public let promptBudget: Int
    /// The history: user and assistant turns, alternating, user first.
    public private(set) var turns: [Conversation.Turn] = []
    /// Answers recorded since the session began (`clear()` does not reset it); the command draws
    /// answer n with seed `seed + n`, so the same inputs and seed give the same conversation.
    public private(set) var answersRecorded = 0
    /// Turns dropped to fit the context since the session began or was last cleared.
    public private(set) var droppedTurns = 0

    /// A rendered prompt, ready for generation.
    public struct Prompt: Sendable, Equatable {
        /// Token ids: bos, the history, the new message, the assistant prefix.
        public var ids: [Int]
        /// The same, as text (special tokens shown as the template's literals).
        public var text: String
        /// Turns dropped from the history to make this prompt fit.
        public var droppedTurns: Int
        /// Set the first time turns are dropped (since the start or the last `clear()`): what to
        /// tell the user once.
        public var notice: String?
    }

    /// - Parameters:
    ///   - template: the model's chat template.
    ///   - tokenizer: the model's tokenizer.
    ///   - system: a system prompt, or nil.
    ///   - promptBudget: the longest prompt in tokens (at least 1).
    /// - Throws: ``ChatSessionError/noRoomForPrompt(budget:)`` when `promptBudget` is below 1.
    public init(template: ChatFormat, tokenizer: any TextTokenizer, system: String? = nil, promptBudget: Int) throws {
        guard promptBudget >= 1 else { throw ChatSessionError.noRoomForPrompt(budget: promptBudget) }
        self.template = template
        self.tokenizer = tokenizer
        self.system = system
        self.promptBudget = promptBudget
    }

    /// The conversation so far.
    public var conversation: Conversation { Conversation(system: system, turns: turns) }

    /// The prompt that asks the model to answer `message` after the history. When it is longer
    /// than `promptBudget`, the oldest exchanges are dropped from the history (for good) until it
    /// fits. The message itself is not added: `record(question:answer:)` adds it with its answer.
    ///
    /// - Throws: ``ChatSessionError/messageTooLong(tokens:budget:)`` when the message does not fit
    ///   even with no history; the history is then left as it was. A tokenizer error.
    public mutating func prompt(for message: String) throws -> Prompt {
        let alone = try encodedPrompt(history: [], message: message)
        guard alone.count <= promptBudget else {
            throw ChatSessionError.messageTooLong(tokens: alone.count, budget: promptBudget)
        }
        var ids = try encodedPrompt(history: turns, message: message)
        var dropped = 0
        while ids.count > promptBudget {
            // An exchange at a time: the user turn and the answer after it.
            let count = turns.count >= 2 && turns[1].role == .assistant ? 2 : 1
            turns.removeFirst(count)
            dropped += count
            ids = turns.isEmpty ? alone : try encodedPrompt(history: turns, message: message)
        }
        var notice: String?
        if dropped > 0 && droppedTurns == 0 {
            notice = "the conversation no longer fits in \(promptBudget) prompt tokens: "
                + "its oldest turns are dropped from now on (/clear starts afresh)"
        }
        droppedTurns += dropped
        let text = try template.renderPrompt(Conversation(system: system, turns: turns + [Conversation.Turn(role: .user, content: message)]))
        return Prompt(ids: ids, text: text, droppedTurns: dropped, notice: notice)
    }

    /// Adds an exchange to the history: the user's message and the model's answer (trimmed of
    /// the whitespace around it, as the evaluations compare answers).
    public mutating func record(question: String, answer: String) {
        turns.append(Conversation.Turn(role: .user, content: question))
        turns.append(Conversation.Turn(role: .assistant, content: answer.trimmingCharacters(in: .whitespacesAndNewlines)))
        answersRecorded += 1
    }

    /// Empties the history (the system prompt stays); the next drop is announced again.
    public mutating func clear() {
        turns.removeAll()
        droppedTurns = 0
    }

    private func encodedPrompt(history: [Conversation.Turn], message: String) throws -> [Int] {
        let conversation = Conversation(system: system, turns: history + [Conversation.Turn(role: .user, content: message)])
        return try tokenizer.encode(try template.promptSegments(conversation)).ids
    }
}

/// Why a chat prompt cannot be made.
public enum ChatSessionError: Error, Equatable, CustomStringConvertible {
    /// The message alone (with the system prompt and the template's markers) needs `tokens`
    /// prompt tokens; at most `budget` fit.
    case messageTooLong(tokens: Int, budget: Int)
    /// The context leaves no room for a prompt.
    case noRoomForPrompt(budget: Int)

    public var description: String {
        switch self {
        case let .messageTooLong(tokens, budget):
            "the message makes a prompt of \(tokens) tokens with the chat template; at most \(budget) fit"
        case let .noRoomForPrompt(budget):
            "no room for a prompt: the prompt budget is \(budget) tokens (expected at least 1)"
        }
    }
}
