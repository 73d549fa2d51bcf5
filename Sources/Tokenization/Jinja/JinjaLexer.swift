/// Splits a Jinja template into text and tags, applying jinja2's whitespace rules with
/// `trim_blocks=True, lstrip_blocks=True` (as transformers compiles chat templates):
///
/// - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all after it.
/// - trim_blocks: the first newline after `%}` or `#}` is dropped (not after `}}`).
/// - lstrip_blocks: spaces and tabs between the start of a line and `{%` or `{#` are dropped.
/// - `{%+` and `+%}` turn the last two off for one tag.
/// - Line endings become `\n`, and one trailing newline of the template is dropped.
///
/// Positions are Unicode scalars, as Python's string indices are.
struct JinjaLexer {
    /// A piece of the template: literal text, or the tokens inside `{{ }}` or `{% %}`.
    enum Piece: Sendable {
        case text(String, line: Int)
        case output([JinjaToken], line: Int)
        case statement([JinjaToken], line: Int)
    }

    private let source: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    /// Whether what came before ended a line (jinja2's `line_starting`), for lstrip_blocks.
    private var lineStarting = true
    /// The whitespace sign of the last tag end (`-`, `+` or none).
    private var lastEndSign: Unicode.Scalar?

    init(_ template: String) {
        var text = template.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        source = Array(text.unicodeScalars)
    }

    static func pieces(of template: String) throws -> [Piece] {
        var lexer = JinjaLexer(template)
        return try lexer.run()
    }

    private mutating func run() throws -> [Piece] {
        var pieces: [Piece] = []
        while pos < source.count {
            guard let start = nextTagStart(from: pos) else {
                pieces.append(.text(string(pos, source.count), line: line))
                break
            }
            let kind = source[start + 1]
            let sign: Unicode.Scalar? = start + 2 < source.count && (source[start + 2] == "-" || source[start + 2] == "+")
                ? source[start + 2] : nil
            let textLine = line
            var text = Array(source[pos..<start])
            line += text.count(where: { $0 == "\n" })
            strip(&text, sign: sign, isOutput: kind == "{")
            if !text.isEmpty { pieces.append(.text(String(String.UnicodeScalarView(text)), line: textLine)) }
            pos = start + 2 + (sign == nil ? 0 : 1)
            let tagLine = line
            switch kind {
            case "#":
                try skipComment(openedAt: tagLine)
            case "{":
                pieces.append(.output(try tokens(until: .output, openedAt: tagLine), line: tagLine))
            default:
                let tokens = try tokens(until: .statement, openedAt: tagLine)
                if tokens.count == 2, tokens[0].kind == .name, tokens[0].text == "raw" {
                    // `{% raw %}` keeps the newline after it (jinja2's raw rule has no trim_blocks).
                    if lastEndSign == nil, lineStarting, pos > 0, source[pos - 1] == "\n" {
                        pos -= 1
                        line -= 1
                    }
                    pieces.append(.text(try rawBody(openedAt: tagLine), line: tagLine))
                } else {
                    pieces.append(.statement(tokens, line: tagLine))
                }
            }
        }
        return pieces
    }

    // MARK: - Text and whitespace control

    private func nextTagStart(from index: Int) -> Int? {
        var i = index
        while i + 1 < source.count {
            if source[i] == "{", source[i + 1] == "{" || source[i + 1] == "%" || source[i + 1] == "#" { return i }
            i += 1
        }
        return nil
    }

    private func strip(_ text: inout [Unicode.Scalar], sign: Unicode.Scalar?, isOutput: Bool) {
        if sign == "-" {
            while let last = text.last, last.isPythonSpace { text.removeLast() }
        } else if sign != "+", !isOutput {
            let lineStart = (text.lastIndex(of: "\n") ?? -1) + 1
            if lineStart > 0 || lineStarting, lineStart < text.count, text[lineStart...].allSatisfy(\.isPythonSpace) {
                text.removeSubrange(lineStart...)
            }
        }
    }

    /// Consumes what follows a tag end: all whitespace after `-`, one newline under trim_blocks.
    private mutating func consumeAfterTag(sign: Unicode.Scalar?, trimBlock: Bool) {
        var last: Unicode.Scalar? = nil
        if sign == "-" {
            while pos < source.count, source[pos].isPythonSpace {
                if source[pos] == "\n" { line += 1 }
                last = source[pos]
                pos += 1
            }
        } else if sign == nil, trimBlock, pos < source.count, source[pos] == "\n" {
            line += 1
            last = "\n"
            pos += 1
        }
        lineStarting = last == "\n"
    }

    private mutating func skipComment(openedAt tagLine: Int) throws {
        while pos + 1 < source.count {
            if source[pos] == "+" || source[pos] == "-", pos + 2 < source.count, source[pos + 1] == "#", source[pos + 2] == "}" {
                let sign = source[pos]
                pos += 3
                consumeAfterTag(sign: sign, trimBlock: true)
                return
            }
            if source[pos] == "#", source[pos + 1] == "}" {
                pos += 2
                consumeAfterTag(sign: nil, trimBlock: true)
                return
            }
            if source[pos] == "\n" { line += 1 }
            pos += 1
        }
        throw JinjaError(.syntax, line: tagLine, "missing end of comment tag")
    }

    /// The text of a `{% raw %}` block up to its `{% endraw %}`, whitespace-controlled like text.
    private mutating func rawBody(openedAt tagLine: Int) throws -> String {
        var i = pos
        while let start = nextTagStart(from: i) {
            i = start + 1
            guard source[start + 1] == "%" else { continue }
            var j = start + 2
            let sign: Unicode.Scalar? = j < source.count && (source[j] == "-" || source[j] == "+") ? source[j] : nil
            if sign != nil { j += 1 }
            while j < source.count, source[j].isPythonSpace { j += 1 }
            guard string(j, min(j + 6, source.count)) == "endraw" else { continue }
            j += 6
            while j < source.count, source[j].isPythonSpace { j += 1 }
            var endSign: Unicode.Scalar? = nil
            if j < source.count, source[j] == "-" || source[j] == "+" { endSign = source[j]; j += 1 }
            guard j + 1 < source.count, source[j] == "%", source[j + 1] == "}" else { continue }
            var text = Array(source[pos..<start])
            line += source[pos..<(j + 2)].count(where: { $0 == "\n" })
            strip(&text, sign: sign, isOutput: false)
            pos = j + 2
            consumeAfterTag(sign: endSign, trimBlock: true)
            return String(String.UnicodeScalarView(text))
        }
        throw JinjaError(.syntax, line: tagLine, "missing end of raw directive")
    }

    // MARK: - Tokens inside a tag

    private enum TagKind { case output, statement }

    private mutating func tokens(until tag: TagKind, openedAt tagLine: Int) throws -> [JinjaToken] {
        var tokens: [JinjaToken] = []
        var balance: [Unicode.Scalar] = []
        while true {
            while pos < source.count, source[pos].isPythonSpace {
                if source[pos] == "\n" { line += 1 }
                pos += 1
            }
            guard pos < source.count else {
                throw JinjaError(.syntax, line: tagLine, tag == .output ? "unclosed '{{': expected '}}'" : "unclosed '{%': expected '%}'")
            }
            if balance.isEmpty, let (length, sign) = tagEnd(tag) {
                pos += length
                lastEndSign = sign
                consumeAfterTag(sign: sign, trimBlock: tag == .statement)
                tokens.append(JinjaToken(kind: .end, text: "", line: line))
                return tokens
            }
            let c = source[pos]
            if c.isASCIIDigit {
                tokens.append(number())
            } else if c == "_" || c.properties.isAlphabetic {
                let start = pos
                while pos < source.count, source[pos] == "_" || source[pos].properties.isAlphabetic || source[pos].isASCIIDigit { pos += 1 }
                tokens.append(JinjaToken(kind: .name, text: string(start, pos), line: line))
            } else if c == "'" || c == "\"" {
                tokens.append(try stringLiteral(quote: c))
            } else if let op = JinjaLexer.operatorAt(source, pos) {
                switch op {
                case "(": balance.append(")")
                case "[": balance.append("]")
                case "{": balance.append("}")
                case ")", "]", "}":
                    guard let expected = balance.popLast() else { throw JinjaError(.syntax, line: line, "unexpected '\(op)'") }
                    guard String(expected) == op else { throw JinjaError(.syntax, line: line, "unexpected '\(op)', expected '\(expected)'") }
                default: break
                }
                pos += op.unicodeScalars.count
                tokens.append(JinjaToken(kind: .op, text: op, line: line))
            } else {
                throw JinjaError(.syntax, line: line, "unexpected character '\(Character(c))'")
            }
        }
    }

    private func tagEnd(_ tag: TagKind) -> (length: Int, sign: Unicode.Scalar?)? {
        let closer: [Unicode.Scalar] = tag == .output ? ["}", "}"] : ["%", "}"]
        func matches(_ at: Int) -> Bool { at + 1 < source.count && source[at] == closer[0] && source[at + 1] == closer[1] }
        if matches(pos) { return (2, nil) }
        if source[pos] == "-" && matches(pos + 1) { return (3, "-") }
        if tag == .statement && source[pos] == "+" && matches(pos + 1) { return (3, "+") }
        return nil
    }

    private static let operators = ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")",
                                    "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"]

    private static func operatorAt(_ source: [Unicode.Scalar], _ pos: Int) -> String? {
        for op in operators {
            let scalars = Array(op.unicodeScalars)
            if pos + scalars.count <= source.count, Array(source[pos..<(pos + scalars.count)]) == scalars { return op }
        }
        return nil
    }

    private mutating func number() -> JinjaToken {
        let start = pos
        func digits() { while pos < source.count, source[pos].isASCIIDigit || (source[pos] == "_" && pos + 1 < source.count && source[pos + 1].isASCIIDigit) { pos += 1 } }
        digits()
        var isFloat = false
        if pos + 1 < source.count, source[pos] == ".", source[pos + 1].isASCIIDigit {
            isFloat = true
            pos += 1
            digits()
        }
        if pos < source.count, source[pos] == "e" || source[pos] == "E" {
            var j = pos + 1
            if j < source.count, source[j] == "+" || source[j] == "-" { j += 1 }
            if j < source.count, source[j].isASCIIDigit {
                isFloat = true
                pos = j
                digits()
            }
        }
        let text = string(start, pos).replacingOccurrences(of: "_", with: "")
        return JinjaToken(kind: isFloat ? .float : .integer, text: text, line: line)
    }

    /// A quoted string, its escapes decoded as Python's `unicode-escape` codec does (as jinja2 does).
    private mutating func stringLiteral(quote: Unicode.Scalar) throws -> JinjaToken {
        let startLine = line
        pos += 1
        var value = String.UnicodeScalarView()
        while pos < source.count, source[pos] != quote {
            let c = source[pos]
            if c == "\n" { line += 1 }
            guard c == "\\", pos + 1 < source.count else {
                value.append(c)
                pos += 1
                continue
            }
            let e = source[pos + 1]
            pos += 2
            switch e {
            case "\n": line += 1
            case "\\", "'", "\"": value.append(e)
            case "n": value.append("\n")
            case "t": value.append("\t")
            case "r": value.append("\r")
            case "b": value.append("\u{08}")
            case "f": value.append("\u{0C}")
            case "v": value.append("\u{0B}")
            case "a": value.append("\u{07}")
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                let hex = string(pos, min(pos + width, source.count))
                guard hex.unicodeScalars.count == width, let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                    throw JinjaError(.syntax, line: line, "invalid \\\(e) escape in a string")
                }
                value.append(scalar)
                pos += width
            case "0"..."7":
                var code = e.value - 48
                var count = 1
                while count < 3, pos < source.count, ("0"..."7").contains(source[pos]) {
                    code = code * 8 + source[pos].value - 48
                    pos += 1
                    count += 1
                }
                value.append(Unicode.Scalar(code) ?? "?")
            default:
                value.append("\\")
                value.append(e)
            }
        }
        guard pos < source.count else { throw JinjaError(.syntax, line: startLine, "unterminated string") }
        pos += 1
        return JinjaToken(kind: .string, text: String(value), line: startLine)
    }

    private func string(_ from: Int, _ to: Int) -> String {
        String(String.UnicodeScalarView(source[from..<to]))
    }
}

/// One token of an expression inside a tag.
struct JinjaToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case name, string, integer, float, op, end }
    var kind: Kind
    /// The name, operator or digits; for a string, its decoded value.
    var text: String
    var line: Int
}

extension Unicode.Scalar {
    /// Python's `str.isspace()`, which `strip()` and the lexer's `\s` use.
    var isPythonSpace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    var isASCIIDigit: Bool { value >= 48 && value <= 57 }
}
