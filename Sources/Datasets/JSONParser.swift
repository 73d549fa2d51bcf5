/// A JSON syntax error at a line and column (both 1-based): what the parser wanted there and
/// what it found.
struct JSONSyntaxError: Error, Sendable {
    var line: Int
    var column: Int
    var expected: String
    var got: String
}

/// A small JSON parser over UTF-8 bytes that counts lines as it goes.
///
/// Foundation's parsers report neither where an array element starts nor, on Linux, where a
/// syntax error is; users need both ("train.json:1234: ..."). The parser is lenient where real
/// dataset files are sloppy (raw control characters inside strings) and strict elsewhere.
struct JSONParser {
    private let bytes: [UInt8]
    private var position = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    /// Deep enough for any dataset record, shallow enough never to overflow the stack.
    private static let maxDepth = 256

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// The line the parser is on.
    var currentLine: Int { line }
    /// True when only whitespace is left.
    mutating func atEnd() -> Bool {
        skipWhitespace()
        return position >= bytes.count
    }

    /// Parses a whole document: one value and nothing after it but whitespace.
    static func parseDocument(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        let value = try parser.parseValue()
        guard parser.atEnd() else { throw parser.error(expected: "the end of the line after the JSON value") }
        return value
    }

    // MARK: - Record arrays with lines

    /// The next non-whitespace byte, without consuming it.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    /// Parses an array from here, returning each element with the line it starts on.
    mutating func parseArrayWithLines() throws(JSONSyntaxError) -> [(value: JSONValue, line: Int)] {
        var elements: [(value: JSONValue, line: Int)] = []
        try parseArray { parser, line throws(JSONSyntaxError) in elements.append((try parser.parseValue(), line)) }
        return elements
    }

    /// Parses an array from here, handing each element's start line to `element`, which must
    /// parse the element.
    mutating func parseArray(element: (inout JSONParser, Int) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") { position += 1; return }
        while true {
            skipWhitespace()
            try element(&self, line)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return
            default: throw error(expected: "',' or ']' in the array")
            }
        }
    }

    /// Parses an object from here, handing each key to `member`, which must parse its value
    /// (with `parseValue` or `parseArrayWithLines`).
    mutating func parseObject(member: (String, inout JSONParser) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") { position += 1; return }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw error(expected: "a field name in double quotes") }
            let key = try parseString()
            try expect(UInt8(ascii: ":"))
            try member(key, &self)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return
            default: throw error(expected: "',' or '}' after a field")
            }
        }
    }

    // MARK: - Values

    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard let c = peek() else { throw error(expected: "a value") }
        switch c {
        case UInt8(ascii: "{"):
            try enter()
            var object: [String: JSONValue] = [:]
            try parseObject { key, parser throws(JSONSyntaxError) in object[key] = try parser.parseValue() }
            depth -= 1
            return .object(object)
        case UInt8(ascii: "["):
            try enter()
            var array: [JSONValue] = []
            try parseArray { parser, _ throws(JSONSyntaxError) in array.append(try parser.parseValue()) }
            depth -= 1
            return .array(array)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error(expected: "a value")
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > JSONParser.maxDepth { throw error(expected: "at most \(JSONParser.maxDepth) levels of nesting", got: "deeper nesting") }
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes, the bytes are the string.
        while position < bytes.count {
            let c = bytes[position]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: bytes[start..<position], as: UTF8.self)
                position += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c == UInt8(ascii: "\n") { newline(at: position) }
            position += 1
        }
        var utf8 = Array(bytes[start..<position])
        while position < bytes.count {
            let c = bytes[position]
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { break }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(8)
                case UInt8(ascii: "f"): utf8.append(12)
                case UInt8(ascii: "n"): utf8.append(10)
                case UInt8(ascii: "r"): utf8.append(13)
                case UInt8(ascii: "t"): utf8.append(9)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try parseUnicodeEscape())
                default:
                    position -= 1
                    throw error(expected: "an escape such as \\n, \\t, \\\" or \\uXXXX")
                }
            default:
                if c == UInt8(ascii: "\n") { newline(at: position - 1) }
                utf8.append(c)
            }
        }
        throw error(expected: "a closing double quote", got: "the end of the input")
    }

    /// After `\u`: four hex digits, or a surrogate pair of two escapes. Lone surrogates become U+FFFD.
    private mutating func parseUnicodeEscape() throws(JSONSyntaxError) -> [UInt8] {
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code), position + 1 < bytes.count,
           bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
            position += 2
            let low = try hex4()
            code = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
        }
        let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error(expected: "four hex digits after \\u") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw error(expected: "four hex digits after \\u")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                 UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                position += 1
            default:
                return try number(from: start)
            }
        }
        return try number(from: start)
    }

    private mutating func number(from start: Int) throws(JSONSyntaxError) -> Double {
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let value = Double(text) else {
            position = start
            throw error(expected: "a number", got: "'\(text)'")
        }
        return value
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        let matches = position + n <= bytes.count && word.withUTF8Buffer { w in
            (0..<n).allSatisfy { bytes[position + $0] == w[$0] }
        }
        guard matches else { throw error(expected: "a value") }
        position += n
    }

    // MARK: - Whitespace, positions, errors

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): position += 1
            case UInt8(ascii: "\n"): newline(at: position); position += 1
            default: return
            }
        }
    }

    private mutating func newline(at index: Int) {
        line += 1
        lineStart = index + 1
    }

    private mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        guard peek() == byte else { throw error(expected: "'\(Character(Unicode.Scalar(byte)))'") }
        position += 1
    }

    private func describeNext() -> String {
        guard position < bytes.count else { return "the end of the input" }
        let end = min(bytes.count, position + 12)
        let snippet = String(decoding: bytes[position..<end], as: UTF8.self).prefix { $0 != "\n" }
        return "'\(snippet)'"
    }

    /// An error at the current position; by default it found whatever comes next.
    private func error(expected: String, got: String? = nil) -> JSONSyntaxError {
        JSONSyntaxError(line: line, column: position - lineStart + 1, expected: expected, got: got ?? describeNext())
    }
}
