/// A JSON object inside a record, with what an error about one of its fields needs: the file,
/// the record's line and the object's path in the record.
struct RecordObject {
    let fields: [String: JSONValue]
    /// "" for the record itself, e.g. "conversations[2]" for a nested message.
    let path: String
    let file: String
    let line: Int

    /// The record itself, or a wrong-type error when it is not an object.
    init(record value: JSONValue, file: String, line: Int) throws {
        guard case .object(let fields) = value else {
            throw DatasetError(.wrongType, file: file, line: line,
                               expected: "a JSON object (one record)", got: value.summary)
        }
        self.init(fields: fields, path: "", file: file, line: line)
    }

    init(fields: [String: JSONValue], path: String, file: String, line: Int) {
        self.fields = fields
        self.path = path
        self.file = file
        self.line = line
    }

    /// The path of a field of this object, or of this object itself when `name` is nil.
    func fieldPath(_ name: String?) -> String? {
        guard let name else { return path.isEmpty ? nil : path }
        return path.isEmpty ? name : "\(path).\(name)"
    }

    func error(_ kind: DatasetError.Kind, field name: String?, expected: String? = nil,
               got: String? = nil, hint: String? = nil) -> DatasetError {
        DatasetError(kind, file: file, line: line, field: fieldPath(name), expected: expected, got: got, hint: hint)
    }

    /// The first of `names` present with a non-null value. JSON null counts as absent, as
    /// `"input": null` in alpaca files means no input.
    func find(_ names: [String]) -> (name: String, value: JSONValue)? {
        for name in names {
            if let value = fields[name], value != .null { return (name, value) }
        }
        return nil
    }

    /// The error for a required field none of whose names is present.
    func missing(_ names: [String], expected: String) -> DatasetError {
        let field = names.count > 1 ? "\(names[0])' (or '\(names.dropFirst().joined(separator: "', '"))" : names[0]
        if let name = names.first(where: { fields[$0] == .null }) {
            return error(.wrongType, field: name, expected: expected, got: "null")
        }
        let got = fields.isEmpty ? "an empty object" : "only the fields " + fields.keys.sorted().joined(separator: ", ")
        return error(.missingField, field: field, expected: expected, got: got)
    }

    /// An optional string field; nil when absent or null.
    func optionalString(_ names: [String]) throws -> String? {
        guard let (name, value) = find(names) else { return nil }
        guard case .string(let s) = value else {
            throw error(.wrongType, field: name, expected: "a string", got: value.summary)
        }
        return s
    }

    /// A required string field holding a message: trimmed, and refused when empty.
    func content(_ names: [String], what: String = "a non-empty string") throws -> String {
        guard let (name, value) = find(names) else { throw missing(names, expected: what) }
        guard case .string(let s) = value else {
            throw error(.wrongType, field: name, expected: what, got: value.summary)
        }
        let trimmed = s.trimmingWhitespace
        if trimmed.isEmpty { throw error(.emptyContent, field: name, expected: what, got: value.summary) }
        return trimmed
    }

    /// An optional system prompt: trimmed, and nil when absent or empty.
    func system(_ names: [String] = ["system"]) throws -> String? {
        guard let s = try optionalString(names)?.trimmingWhitespace, !s.isEmpty else { return nil }
        return s
    }
}

extension String {
    /// Without leading and trailing spaces and newlines: templates add their own separators.
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }
}
