/// The text rules the checker applies to prompts and responses; kept apart so that the Python
/// twin in `Scripts/make-demo-data` can be compared with them line by line.
enum TaskText {
    /// Lower case, runs of whitespace collapsed to one space, trimmed, and one final `?` or `.`
    /// dropped.
    static func normalizedPrompt(_ prompt: String) -> String {
        var text = prompt.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
        if text.hasSuffix("?") || text.hasSuffix(".") {
            text.removeLast()
            text = trimmed(text)
        }
        return text
    }

    /// Lower case, trimmed, and one trailing period dropped.
    static func normalizedResponse(_ response: String) -> String {
        var text = trimmed(response).lowercased()
        if text.hasSuffix(".") {
            text.removeLast()
            text = trimmed(text)
        }
        return text
    }

    static func trimmed<S: StringProtocol>(_ s: S) -> String {
        guard let first = s.firstIndex(where: { !$0.isWhitespace }),
              let last = s.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(s[first...last])
    }

    /// One or more of the letters a-z (the prompt is lower-cased first).
    static func isWord<S: StringProtocol>(_ s: S) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { $0 >= "a" && $0 <= "z" }
    }

    /// An optional `-` and 1 to 9 decimal digits, else nil.
    static func integer<S: StringProtocol>(_ s: S) -> Int? {
        let text = trimmed(s)
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard (1...9).contains(digits.count), digits.unicodeScalars.allSatisfy({ $0 >= "0" && $0 <= "9" })
        else { return nil }
        return Int(text)
    }

    /// Words separated by spaces and/or commas, each a word by `isWord`; nil otherwise.
    static func words<S: StringProtocol>(_ s: S) -> [String]? {
        let words = s.split(whereSeparator: { (c: Character) in c == "," || c.isWhitespace }).map { String($0) }
        return !words.isEmpty && words.allSatisfy({ isWord($0) }) ? words : nil
    }

    /// `s` without one pair of surrounding single or double quotes.
    static func unquoted<S: StringProtocol>(_ s: S) -> String {
        let text = trimmed(s)
        if text.count >= 2, let first = text.first, first == text.last, first == "'" || first == "\"" {
            return trimmed(text.dropFirst().dropLast())
        }
        return text
    }
}
