/// One entry of `added_tokens`: a token matched in the text before any splitting.
struct AddedToken: Sendable {
    /// The id the Rust library gives it, which is not always the one in the file (`assigningIDs`).
    var id: Int32
    let content: [UInt8]
    let special: Bool
    /// Also swallows the whitespace before it.
    let lstrip: Bool
    /// Also swallows the whitespace after it.
    let rstrip: Bool
    /// Matched in the normalized text rather than the raw text.
    let normalized: Bool
    /// Only matched when no word character touches it.
    let singleWord: Bool

    init(json: JSONNode) throws {
        let id = try json["id"].int()
        guard id >= 0 && id < Int(Int32.max) else { throw json["id"].error("is \(id), not a token id") }
        let content = try json["content"].string()
        guard !content.isEmpty else { throw json["content"].error("must not be empty") }
        self.id = Int32(id)
        self.content = Array(content.utf8)
        self.special = try json["special"].bool(default: false)
        self.lstrip = try json["lstrip"].bool(default: false)
        self.rstrip = try json["rstrip"].bool(default: false)
        self.normalized = try json["normalized"].bool(default: !special)
        self.singleWord = try json["single_word"].bool(default: false)
    }
}

extension [AddedToken] {
    /// The tokens with the ids the Rust library gives them when it reads the file: the id of the
    /// same content in the model's vocabulary (or earlier in this list), else the next id after
    /// the vocabulary and the added tokens so far. The file's own `id` is only checked there (with
    /// a warning); files the library wrote agree with it.
    func assigningIDs(vocab: [ByteKey: Int32], vocabCount: Int) -> [AddedToken] {
        var byContent: [ByteKey: Int32] = [:]
        var highest: Int32? = nil
        return map { token in
            var t = token
            let key = ByteKey(token.content)
            if let id = byContent[key] ?? vocab[key] {
                t.id = id
            } else if let h = highest, Int(h) >= vocabCount || vocabCount == 0 {
                t.id = h + 1
            } else {
                t.id = Int32(vocabCount)
            }
            byContent[key] = t.id
            highest = Swift.max(highest ?? t.id, t.id)
            return t
        }
    }
}

/// A span of input: text still to tokenize, or an added token already found.
enum Segment {
    case text(ArraySlice<UInt8>)
    case token(Int32)
}

/// Finds added tokens in text the way the Rust library's added vocabulary does: leftmost
/// match first, the longest token among those starting there, then the next search from its end.
struct AddedTokenMatcher: Sendable {
    /// Candidates by first byte, longest first.
    private let byFirstByte: [[AddedToken]]

    init(_ tokens: [AddedToken]) {
        var table = [[AddedToken]](repeating: [], count: 256)
        for t in tokens { table[Int(t.content[0])].append(t) }
        byFirstByte = table.map { $0.sorted { $0.content.count > $1.content.count } }
    }

    var isEmpty: Bool { byFirstByte.allSatisfy(\.isEmpty) }

    /// Cuts `text` at the added tokens in it; the text between them is returned as is.
    ///
    /// As in the Rust library, the search goes on from the end of each match as found, before
    /// lstrip/rstrip widen it: a token can follow inside the whitespace the previous one
    /// swallowed, and is then emitted without a gap.
    /// With `matchingSpecial` false, special tokens are not matched (their text is left to the
    /// tokenizer), as the Rust library's `encode_special_tokens` does; the search still resumes
    /// after them.
    func split(_ text: ArraySlice<UInt8>, matchingSpecial: Bool = true, into out: inout [Segment]) {
        if isEmpty || text.isEmpty {
            if !text.isEmpty { out.append(.text(text)) }
            return
        }
        var emitted = text.startIndex  // where the text not yet in `out` starts
        var i = text.startIndex
        while i < text.endIndex {
            guard let token = longestMatch(text, at: i) else { i += 1; continue }
            var start = i, stop = i + token.content.count
            i = stop
            if token.special && !matchingSpecial { continue }
            if token.singleWord && (Self.endsWithWordCharacter(text[text.startIndex ..< start]) || Self.startsWithWordCharacter(text[stop...])) {
                continue
            }
            if token.lstrip { start = max(Self.whitespaceStart(text[text.startIndex ..< start]), emitted) }
            if token.rstrip { stop = Self.whitespaceEnd(text[stop...]) }
            if emitted < start { out.append(.text(text[emitted ..< start])) }
            out.append(.token(token.id))
            emitted = stop
        }
        if emitted < text.endIndex { out.append(.text(text[emitted...])) }
    }

    @inline(__always)
    private func longestMatch(_ text: ArraySlice<UInt8>, at i: Int) -> AddedToken? {
        let candidates = byFirstByte[Int(text[i])]
        if candidates.isEmpty { return nil }
        for t in candidates where i + t.content.count <= text.endIndex {
            if text[i ..< i + t.content.count].elementsEqual(t.content) { return t }
        }
        return nil
    }

    // MARK: - Neighbourhood tests (the regex crate's `\s`, which is White_Space, and `\w`)

    /// The Rust regex crate's Unicode `\w` (which the library's single_word test uses):
    /// Alphabetic, marks, decimal digits, connector punctuation and the joiners U+200C/U+200D.
    private static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        if s.properties.isAlphabetic || s.value == 0x200C || s.value == 0x200D { return true }
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    static func endsWithWordCharacter(_ s: ArraySlice<UInt8>) -> Bool {
        guard !s.isEmpty else { return false }
        var i = s.endIndex - 1
        while i > s.startIndex && s[i] & 0xC0 == 0x80 { i -= 1 }
        return String(decoding: s[i...], as: UTF8.self).unicodeScalars.first.map(isWordCharacter) ?? false
    }

    static func startsWithWordCharacter(_ s: ArraySlice<UInt8>) -> Bool {
        String(decoding: s.prefix(4), as: UTF8.self).unicodeScalars.first.map(isWordCharacter) ?? false
    }

    /// Where the whitespace that ends `s` starts.
    static func whitespaceStart(_ s: ArraySlice<UInt8>) -> Int {
        var i = s.endIndex
        while i > s.startIndex {
            var j = i - 1
            while j > s.startIndex && s[j] & 0xC0 == 0x80 { j -= 1 }
            guard let scalar = String(decoding: s[j ..< i], as: UTF8.self).unicodeScalars.first,
                  scalar.properties.isWhitespace else { break }
            i = j
        }
        return i
    }

    /// Where the whitespace that starts `s` ends.
    static func whitespaceEnd(_ s: ArraySlice<UInt8>) -> Int {
        var i = s.startIndex
        while i < s.endIndex {
            var n = 1
            while i + n < s.endIndex && s[i + n] & 0xC0 == 0x80 { n += 1 }
            guard let scalar = String(decoding: s[i ..< i + n], as: UTF8.self).unicodeScalars.first,
                  scalar.properties.isWhitespace else { break }
            i += n
        }
        return i
    }
}
