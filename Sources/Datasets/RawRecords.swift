/// Cuts a file's bytes into JSON values, one per record, each with the line it starts on.
enum RawRecords {
    struct Element {
        var value: Result<JSONValue, JSONSyntaxError>
        var line: Int
    }

    /// `.jsonl` and `.ndjson` files are read line by line; anything else by content: a JSON
    /// array, an object holding one under `data` or `train`, or JSON lines.
    static func split(_ contents: [UInt8], file: String) throws -> [Element] {
        // A UTF-8 byte-order mark, as Windows editors write, is not part of the JSON.
        let bytes = contents.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(contents.dropFirst(3)) : contents
        let lower = file.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return lines(bytes) }
        var parser = JSONParser(bytes: bytes)
        do {
            switch parser.peek() {
            case UInt8(ascii: "["):
                let elements = try parser.parseArrayWithLines()
                try expectEnd(&parser)
                return elements.map { Element(value: .success($0.value), line: $0.line) }
            case UInt8(ascii: "{"):
                return try objectDocument(bytes)
            case nil:
                return []
            default:
                _ = try parser.parseValue()  // throws the syntax error, or succeeds on a scalar
                throw DatasetError(.wrongType, file: file, line: 1,
                                   expected: "a JSON array of records, or an object with a \"data\" array", got: "a single JSON value")
            }
        } catch let syntax as JSONSyntaxError {
            throw DatasetError(.invalidJSON, file: file, line: syntax.line, column: syntax.column,
                               expected: syntax.expected, got: syntax.got,
                               hint: "A .json file must be valid as a whole, so it cannot be skipped record by record; "
                                   + "for one record per line use .jsonl")
        }
    }

    /// A document that opens with `{`: `{"data": [...]}` (or `"train"`), one record, or JSON lines.
    private static func objectDocument(_ bytes: [UInt8]) throws(JSONSyntaxError) -> [Element] {
        var parser = JSONParser(bytes: bytes)
        var arrays: [String: [(value: JSONValue, line: Int)]] = [:]
        var fields: [String: JSONValue] = [:]
        do {
            try parser.parseObject { key, p throws(JSONSyntaxError) in
                if (key == "data" || key == "train") && p.peek() == UInt8(ascii: "[") {
                    arrays[key] = try p.parseArrayWithLines()
                } else {
                    fields[key] = try p.parseValue()
                }
            }
        } catch {
            // Not one object: if the first line is an object of its own, the file is JSON lines.
            if lines(bytes).first.map({ if case .success(.object) = $0.value { true } else { false } }) == true {
                return lines(bytes)
            }
            throw error
        }
        if let records = arrays["data"] ?? arrays["train"] {
            return records.map { Element(value: .success($0.value), line: $0.line) }
        }
        if !parser.atEnd() { return lines(bytes) }
        return [Element(value: .success(.object(fields)), line: 1)]
    }

    private static func expectEnd(_ parser: inout JSONParser) throws(JSONSyntaxError) {
        guard parser.atEnd() else {
            throw JSONSyntaxError(line: parser.currentLine, column: 1, expected: "nothing after the top-level array", got: "more content")
        }
    }

    /// One value per non-blank line; a line that does not parse is kept as its error, so that a
    /// reader can skip it.
    static func lines(_ bytes: [UInt8]) -> [Element] {
        var elements: [Element] = []
        var start = 0
        var line = 1
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let text = bytes[start..<end]
            if text.contains(where: { !isWhitespace($0) }) {
                do {
                    elements.append(Element(value: .success(try JSONParser.parseDocument(Array(text))), line: line))
                } catch {
                    elements.append(Element(value: .failure(error), line: line))
                }
            }
            start = end + 1
            line += 1
        }
        return elements
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }
}
