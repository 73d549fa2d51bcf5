/// Why a dataset or a record was refused, and where: file, line, field, what was expected and
/// what was found.
///
/// The description reads like a compiler diagnostic, e.g.
/// `train.jsonl:17: unknown role in field 'conversations[2].from': expected one of human, gpt,
/// system (or user, assistant), got "narrator"`. Equality compares the kind only.
public struct DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case invalidJSON, missingField, wrongType, emptyContent, unknownRole, turnsDoNotAlternate
        case fileNotFound, noRecords, unknownFormat, unsuitableRecord, invalidOption, chatTemplateRefused

        var phrase: String {
            switch self {
            case .invalidJSON: "invalid JSON"
            case .missingField: "missing field"
            case .wrongType: "wrong type"
            case .emptyContent: "empty content"
            case .unknownRole: "unknown role"
            case .turnsDoNotAlternate: "turns do not alternate"
            case .fileNotFound: "not found"
            case .noRecords: "no records"
            case .unknownFormat: "cannot tell the dataset format"
            case .unsuitableRecord: "record does not suit this step"
            case .invalidOption: "invalid option"
            case .chatTemplateRefused: "the chat template cannot render it"
            }
        }
    }

    public var kind: Kind
    /// The file, as the user named it (or the directory's file); nil for option errors.
    public var file: String?
    /// The 1-based line the record starts on (exact for JSONL; where the element begins in a
    /// .json array).
    public var line: Int?
    /// The 1-based column, for JSON syntax errors.
    public var column: Int?
    /// The field path inside the record, e.g. `conversations[2].from`.
    public var field: String?
    /// What the reader wanted there.
    public var expected: String?
    /// What it found.
    public var got: String?
    /// A suggestion or further detail.
    public var hint: String?

    /// - Parameters:
    ///   - kind: what went wrong.
    ///   - file: the file concerned.
    ///   - line: the line in it.
    ///   - column: the column, for syntax errors.
    ///   - field: the field path in the record.
    ///   - expected: what was wanted.
    ///   - got: what was found.
    ///   - hint: a suggestion.
    public init(_ kind: Kind, file: String? = nil, line: Int? = nil, column: Int? = nil, field: String? = nil,
                expected: String? = nil, got: String? = nil, hint: String? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.expected = expected
        self.got = got
        self.hint = hint
    }

    /// `file:line: ` (or less when either is unknown).
    public var place: String {
        switch (file, line) {
        case let (file?, line?): "\(file):\(line): "
        case let (file?, nil): "\(file): "
        default: ""
        }
    }

    /// The message without the place, as a skipped-record report lists it.
    public var reason: String {
        var s = kind.phrase
        if let column { s += " at column \(column)" }
        if let field { s += kind == .missingField || kind == .invalidOption ? " '\(field)'" : " in field '\(field)'" }
        if let expected { s += ": expected \(expected)" }
        if let got { s += (expected == nil ? ": got " : ", got ") + got }
        if let hint { s += ". \(hint)" }
        return s
    }

    public var description: String { place + reason }

    public static func == (a: DatasetError, b: DatasetError) -> Bool { a.kind == b.kind }
}

/// A record left out because of `skipBadRecords`, with where it was and why.
public struct SkippedRecord: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var kind: DatasetError.Kind
    /// The error message without the place.
    public var reason: String

    /// - Parameters:
    ///   - error: the error that made the record bad; must carry a file.
    ///   - line: the record's line when the error does not carry one.
    public init(_ error: DatasetError, line: Int) {
        self.file = error.file ?? "?"
        self.line = error.line ?? line
        self.kind = error.kind
        self.reason = error.reason
    }

    public var description: String { "\(file):\(line): \(reason)" }

    /// A report for users: how many records were skipped and the first `limit` places.
    ///
    /// - Parameters:
    ///   - skipped: the skipped records.
    ///   - limit: how many to list one per line.
    public static func report(_ skipped: [SkippedRecord], limit: Int = 10) -> String {
        guard !skipped.isEmpty else { return "no bad records" }
        var lines = ["skipped \(skipped.count) bad record\(skipped.count == 1 ? "" : "s"):"]
        lines += skipped.prefix(limit).map { "  \($0)" }
        if skipped.count > limit { lines.append("  ... and \(skipped.count - limit) more") }
        return lines.joined(separator: "\n")
    }
}
