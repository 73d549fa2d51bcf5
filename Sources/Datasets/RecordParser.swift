import Tokenization

/// Turns one JSON record into a normalized `DatasetRecord` for a given format, refusing it with
/// a `DatasetError` that names the field when it does not fit.
///
/// Every message is trimmed of leading and trailing whitespace (templates add their own
/// separators: DeepSpeed-Chat's `" answer"` becomes `"answer"` and renders back as `" answer"`),
/// and empty user or assistant messages are refused. An empty system prompt counts as none.
struct RecordParser: Sendable {
    let format: DatasetFormat

    func parse(_ value: JSONValue, at source: SourceLocation) throws -> DatasetRecord {
        let record = try RecordObject(record: value, file: source.file, line: source.line)
        let content: DatasetRecord.Content
        switch format {
        case .preference: content = .preference(try preference(record))
        case .promptResponse: content = .conversation(try promptResponse(record))
        case .messages: content = .conversation(try chat(record, listField: "messages", keys: .roleContent))
        case .sharegpt: content = .conversation(try chat(record, listField: "conversations", keys: .fromValue))
        case .alpaca: content = .conversation(try alpaca(record))
        case .text: content = .text(TextRecord(text: try record.content(["text"])))
        case .prompt: content = .conversation(try promptOnly(record))
        }
        return DatasetRecord(content, source: source)
    }

    // MARK: - Formats

    private func chat(_ record: RecordObject, listField: String, keys: RecordObject.MessageKeys) throws -> Conversation {
        guard let (name, value) = record.find([listField]) else {
            throw record.missing([listField], expected: "a list of messages (\(keys.role[0]), \(keys.content[0]))")
        }
        let (system, turns) = try record.messageList(value, field: name, keys: keys)
        return Conversation(system: try record.system() ?? system, turns: turns)
    }

    private func alpaca(_ record: RecordObject) throws -> Conversation {
        let instruction = try record.content(["instruction"])
        let input = try record.optionalString(["input"])?.trimmingWhitespace ?? ""
        let output = try record.content(["output"])
        let user = input.isEmpty ? instruction : instruction + "\n" + input
        let turns = try record.history() + [Conversation.Turn(role: .user, content: user),
                                            Conversation.Turn(role: .assistant, content: output)]
        return Conversation(system: try record.system(), turns: turns)
    }

    private func promptResponse(_ record: RecordObject) throws -> Conversation {
        let promptNames = DatasetFormat.promptResponsePromptFields
        guard let promptField = record.find(promptNames) else {
            throw record.missing(promptNames, expected: "the prompt (a string or a list of messages)")
        }
        var prompt = try conversation(promptField, in: record)
        guard let (name, value) = record.find(DatasetFormat.responseFields) else {
            throw record.missing(DatasetFormat.responseFields, expected: "the response (a string)")
        }
        if case .array = value {
            // trl's conversational prompt-completion: the completion is a list of messages too.
            prompt.turns += try record.messageList(value, field: name, keys: .roleContent, checkingTurns: false).turns
        } else {
            prompt = prompt.appendingAssistant(try record.content([name]))
        }
        return try validated(prompt, in: record, field: promptField.name, endsWith: .assistant)
    }

    private func promptOnly(_ record: RecordObject) throws -> Conversation {
        guard let promptField = record.find(["prompt"]) else {
            throw record.missing(["prompt"], expected: "the prompt (a string or a list of messages)")
        }
        return try validated(try conversation(promptField, in: record), in: record, field: promptField.name, endsWith: .user)
    }

    private func preference(_ record: RecordObject) throws -> PreferencePair {
        guard let chosenField = record.find(DatasetFormat.chosenFields) else {
            throw record.missing(DatasetFormat.chosenFields, expected: "the preferred answer (a string)")
        }
        guard let rejectedField = record.find(DatasetFormat.rejectedFields) else {
            throw record.missing(DatasetFormat.rejectedFields, expected: "the dispreferred answer (a string)")
        }
        let promptField = record.find(DatasetFormat.promptFields)
        let chosen = try answer(chosenField, in: record, mayCarryPrompt: promptField == nil)
        let rejected = try answer(rejectedField, in: record, mayCarryPrompt: promptField == nil)
        var prompt: Conversation
        if let promptField {
            prompt = try conversation(promptField, in: record)
        } else if let carried = chosen.prompt {
            // Anthropic HH-RLHF and trl's implicit-prompt format: chosen and rejected are whole
            // conversations sharing everything but the last answer; the prompt is taken from chosen.
            prompt = carried
            prompt.system = try record.system() ?? carried.system
        } else {
            throw record.missing(["prompt"], expected: "the prompt (a string or a list of messages)",
                                 hint: "Or give chosen and rejected as whole conversations")
        }
        prompt = try validated(prompt, in: record, field: promptField?.name ?? chosenField.name, endsWith: .user)
        return PreferencePair(prompt: prompt, chosen: chosen.text, rejected: rejected.text)
    }

    // MARK: - Pieces

    /// A prompt field: a list of messages, or a string (split at DeepSpeed-Chat's Human:/Assistant:
    /// markers when it has them, else one user turn). The record's `system` and `history` apply.
    private func conversation(_ field: (name: String, value: JSONValue), in record: RecordObject) throws -> Conversation {
        var system = try record.system()
        var turns = try record.history()
        switch field.value {
        case .array:
            let parsed = try record.messageList(field.value, field: field.name, keys: .roleContent)
            system = system ?? parsed.system
            turns += parsed.turns
        case .string(let text):
            if let split = HumanAssistantMarkers.split(text) {
                system = system ?? split.system
                turns += split.turns
            } else {
                turns.append(Conversation.Turn(role: .user, content: try record.content([field.name])))
            }
        default:
            throw record.error(.wrongType, field: field.name, expected: "a string or a list of messages", got: field.value.summary)
        }
        return Conversation(system: system, turns: turns)
    }

    /// A chosen or rejected answer: a string, or (when the record has no prompt field) a whole
    /// conversation whose last turn is the answer.
    private func answer(_ field: (name: String, value: JSONValue), in record: RecordObject,
                        mayCarryPrompt: Bool) throws -> (text: String, prompt: Conversation?) {
        var whole: Conversation?
        switch field.value {
        case .array:
            let parsed = try record.messageList(field.value, field: field.name, keys: .roleContent)
            whole = Conversation(system: parsed.system, turns: parsed.turns)
        case .string(let text) where mayCarryPrompt:
            if let split = HumanAssistantMarkers.split(text) { whole = Conversation(system: split.system, turns: split.turns) }
        default: break
        }
        guard let whole else { return (try record.content([field.name]), nil) }
        guard let last = whole.turns.last, last.role == .assistant, whole.turns.count >= 2 else {
            throw record.error(.missingField, field: field.name,
                               expected: "a conversation ending with the assistant's answer",
                               got: "\(whole.turns.count) turn(s) ending with \(whole.turns.last?.role.rawValue ?? "nothing")")
        }
        if last.content.isEmpty {
            throw record.error(.emptyContent, field: field.name, expected: "a non-empty final answer", got: "an empty answer")
        }
        return (last.content, Conversation(system: whole.system, turns: Array(whole.turns.dropLast())))
    }

    /// Checks the turns of a conversation assembled from several fields, and how it ends.
    private func validated(_ conversation: Conversation, in record: RecordObject, field: String,
                           endsWith role: Conversation.Role) throws -> Conversation {
        try record.checkAlternation(conversation.turns, roleField: { _ in record.fieldPath(field) })
        for turn in conversation.turns where turn.content.isEmpty {
            throw record.error(.emptyContent, field: field, expected: "non-empty messages", got: "an empty \(turn.role.rawValue) turn")
        }
        if conversation.turns.last?.role != role {
            throw record.error(.turnsDoNotAlternate, field: field, expected: "a conversation ending with a \(role.rawValue) turn",
                               got: "one ending with a \(conversation.turns.last!.role.rawValue) turn")
        }
        return conversation
    }
}

extension RecordObject {
    /// A `missing` error with a hint.
    func missing(_ names: [String], expected: String, hint: String) -> DatasetError {
        var e = missing(names, expected: expected)
        e.hint = hint
        return e
    }
}
