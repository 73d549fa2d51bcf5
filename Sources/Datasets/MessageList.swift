import Tokenization

/// Reading lists of chat messages (`messages`, ShareGPT `conversations`, conversational
/// chosen/rejected) and checking that turns alternate.
extension RecordObject {
    /// Key names a message list uses, preferred name first (that one is named when missing).
    enum MessageKeys {
        /// OpenAI style: `{"role": "user", "content": ...}`.
        case roleContent
        /// ShareGPT style: `{"from": "human", "value": ...}`.
        case fromValue

        var role: [String] { self == .roleContent ? ["role", "from"] : ["from", "role"] }
        var content: [String] { self == .roleContent ? ["content", "value"] : ["value", "content"] }
        var roleNames: String {
            self == .roleContent ? "one of system, user, assistant (or human, gpt)" : "one of human, gpt, system (or user, assistant)"
        }
    }

    private static let userRoles: Set = ["user", "human"]
    private static let assistantRoles: Set = ["assistant", "gpt", "bot", "model", "chatgpt", "bard", "bing"]

    /// Parses the message array `value` found at field `name`: an optional leading system
    /// message, then user/assistant turns alternating, user first (checked unless
    /// `checkingTurns` is false, for a list that continues another one).
    func messageList(_ value: JSONValue, field name: String, keys: MessageKeys, checkingTurns: Bool = true) throws -> (system: String?, turns: [Conversation.Turn]) {
        guard case .array(let items) = value else {
            throw error(.wrongType, field: name, expected: "a list of messages", got: value.summary)
        }
        guard !items.isEmpty else {
            throw error(.emptyContent, field: name, expected: "at least one message", got: "an empty list")
        }
        var system: String?
        var turns: [Conversation.Turn] = []
        var roleFields: [String] = []
        for (i, item) in items.enumerated() {
            let itemPath = fieldPath(name)! + "[\(i)]"
            guard case .object(let fields) = item else {
                throw DatasetError(.wrongType, file: file, line: line, field: itemPath,
                                   expected: "a message object (\(keys.role[0]), \(keys.content[0]))", got: item.summary)
            }
            let message = RecordObject(fields: fields, path: itemPath, file: file, line: line)
            let roleKey = message.find(keys.role)?.name ?? keys.role[0]
            let role = try message.content(keys.role, what: "a role name").lowercased()
            if role == "system" {
                guard i == 0 else {
                    throw message.error(.turnsDoNotAlternate, field: roleKey,
                                        expected: "a system message only as the first message", got: "system at position \(i)")
                }
                system = try message.system(keys.content)
                continue
            }
            let turnRole: Conversation.Role
            if RecordObject.userRoles.contains(role) {
                turnRole = .user
            } else if RecordObject.assistantRoles.contains(role) {
                turnRole = .assistant
            } else {
                throw message.error(.unknownRole, field: roleKey, expected: keys.roleNames, got: "\"\(role)\"",
                                    hint: ["tool", "function", "function_call", "observation", "ipython"].contains(role)
                                        ? "Tool and function-call turns are not supported" : nil)
            }
            turns.append(Conversation.Turn(role: turnRole, content: try message.content(keys.content)))
            roleFields.append(message.fieldPath(roleKey)!)
        }
        if checkingTurns { try checkAlternation(turns, roleField: { roleFields[$0] }) }
        return (system, turns)
    }

    /// Refuses turns that are empty, do not start with a user turn or do not alternate.
    ///
    /// - Parameter roleField: the field path to name for turn `i`.
    func checkAlternation(_ turns: [Conversation.Turn], roleField: (Int) -> String?) throws {
        guard let first = turns.first else {
            throw DatasetError(.emptyContent, file: file, line: line, field: roleField(0) ?? fieldPath(nil),
                               expected: "at least one user turn", got: "no turns")
        }
        if first.role != .user {
            throw DatasetError(.turnsDoNotAlternate, file: file, line: line, field: roleField(0),
                               expected: "a user turn first (after any system message)", got: "\(first.role.rawValue)")
        }
        for i in turns.indices.dropFirst() where turns[i].role == turns[i - 1].role {
            let wanted: Conversation.Role = turns[i - 1].role == .user ? .assistant : .user
            throw DatasetError(.turnsDoNotAlternate, file: file, line: line, field: roleField(i),
                               expected: "\(wanted.rawValue) after a \(turns[i - 1].role.rawValue) turn",
                               got: "\(turns[i].role.rawValue) again")
        }
    }

    /// MedicalGPT's and LLaMA-Factory's `history`: earlier exchanges as `[[question, answer], ...]`.
    func history() throws -> [Conversation.Turn] {
        guard let (name, value) = find(["history"]) else { return [] }
        let expected = "a list of [question, answer] pairs of strings"
        guard case .array(let pairs) = value else { throw error(.wrongType, field: name, expected: expected, got: value.summary) }
        var turns: [Conversation.Turn] = []
        for (i, pair) in pairs.enumerated() {
            guard case .array(let two) = pair, two.count == 2, case .string(let q) = two[0], case .string(let a) = two[1] else {
                throw error(.wrongType, field: "\(name)[\(i)]", expected: "a [question, answer] pair of strings", got: pair.summary)
            }
            guard !q.trimmingWhitespace.isEmpty, !a.trimmingWhitespace.isEmpty else {
                throw error(.emptyContent, field: "\(name)[\(i)]", expected: "a non-empty question and answer", got: pair.summary)
            }
            turns += [Conversation.Turn(role: .user, content: q.trimmingWhitespace),
                      Conversation.Turn(role: .assistant, content: a.trimmingWhitespace)]
        }
        return turns
    }
}
