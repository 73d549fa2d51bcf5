import Tokenization

/// Where a record came from: its file, the line it starts on and its 1-based position in the file.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// The record's position among the file's records (array index + 1, or non-blank line count).
    public var record: Int

    /// - Parameters:
    ///   - file: the file path as the user gave it.
    ///   - line: the 1-based line the record starts on.
    ///   - record: the 1-based record number in the file.
    public init(file: String, line: Int, record: Int) {
        self.file = file
        self.line = line
        self.record = record
    }

    public var description: String { "\(file):\(line)" }
}

/// A prompt with a preferred and a dispreferred answer (reward-model and DPO data).
public struct PreferencePair: Sendable, Equatable {
    /// The conversation up to the answer; it ends with a user turn.
    public var prompt: Conversation
    public var chosen: String
    public var rejected: String

    /// - Parameters:
    ///   - prompt: the conversation the answers reply to.
    ///   - chosen: the preferred answer.
    ///   - rejected: the dispreferred answer.
    public init(prompt: Conversation, chosen: String, rejected: String) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }
}

/// Plain text for (continued) pre-training.
public struct TextRecord: Sendable, Equatable {
    public var text: String
    /// - Parameter text: the document.
    public init(text: String) { self.text = text }
}

/// One normalized record, whatever format it was read from, with its source location.
public struct DatasetRecord: Sendable, Equatable {
    /// The three shapes every format normalizes to.
    public enum Content: Sendable, Equatable {
        /// messages, ShareGPT, alpaca, prompt/response and prompt-only records.
        case conversation(Conversation)
        /// prompt/chosen/rejected records.
        case preference(PreferencePair)
        /// text records.
        case text(TextRecord)
    }

    public var content: Content
    public var source: SourceLocation

    /// - Parameters:
    ///   - content: the normalized record.
    ///   - source: where it was read.
    public init(_ content: Content, source: SourceLocation) {
        self.content = content
        self.source = source
    }

    /// A name for the record's shape, as error messages use it.
    public var kindName: String {
        switch content {
        case .conversation: "conversation"
        case .preference: "preference pair"
        case .text: "text"
        }
    }
}
