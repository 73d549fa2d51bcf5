/// The split regexes of the byte-level BPE families, each recognised by its exact text and run
/// by a hand-written scanner instead of a regex engine.
///
/// Each pattern is an alternation that matches at every position (every scalar is a letter, a
/// number, whitespace or something else), so a scan is a sequence of back-to-back matches and
/// the scanner only has to say where the match starting at `i` ends, trying the alternatives
/// in their order as the leftmost-first regex engine does.
enum SplitPattern: Sendable, Equatable {
    /// GPT-2 (and ByteLevel's `use_regex`): `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama 3 (`maxDigits` 3) and Qwen2 (`maxDigits` 1): case-insensitive contractions, a letter
    /// run with one leading non-letter, numbers in groups of at most `maxDigits`, and newlines
    /// kept with the whitespace before them.
    case llama3(maxDigits: Int)

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for a regex's exact text, or nil when it is not one we know.
    init?(regex: String) {
        switch regex {
        case Self.gpt2Regex: self = .gpt2
        case Self.llama3Regex: self = .llama3(maxDigits: 3)
        case Self.qwen2Regex: self = .llama3(maxDigits: 1)
        default: return nil
        }
    }

    /// Calls `body` with the end offset of each back-to-back match over `text`, in order.
    func forEachMatchEnd(_ text: UTF8Scanner, _ body: (Int) -> Void) {
        var i = 0
        while i < text.count {
            let end: Int
            switch self {
            case .gpt2: end = Self.gpt2MatchEnd(text, i)
            case .llama3(let maxDigits): end = Self.llama3MatchEnd(text, i, maxDigits: maxDigits)
            }
            body(end)
            i = end
        }
    }

    // MARK: - GPT-2

    static func gpt2MatchEnd(_ t: UTF8Scanner, _ i: Int) -> Int {
        if let end = contraction(t, i, caseInsensitive: false) { return end }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the optional space is U+0020 only.
        // A space followed by whitespace falls through: `?` then matches nothing, and the
        // space itself is not a letter, number or other.
        let j = t.bytes[i] == 0x20 && i + 1 < t.count ? i + 1 : i
        let (c, _) = t.classAt(j)
        if !c.isWhitespace { return t.skip(c, from: j) }
        return whitespaceEnd(t, i)
    }

    // MARK: - Llama 3 and Qwen2

    static func llama3MatchEnd(_ t: UTF8Scanner, _ i: Int, maxDigits: Int) -> Int {
        if let end = contraction(t, i, caseInsensitive: true) { return end }
        let (c0, n0) = t.classAt(i)
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if c0 == .letter { return t.skip(.letter, from: i) }
        if (c0 == .other || c0 == .space) && i + n0 < t.count && t.classAt(i + n0).0 == .letter {
            return t.skip(.letter, from: i + n0)
        }
        // `\p{N}{1,3}` (or `\p{N}`)
        if c0 == .number {
            var j = i, taken = 0
            while j < t.count && taken < maxDigits {
                let (c, n) = t.classAt(j)
                if c != .number { break }
                j += n
                taken += 1
            }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let j = t.bytes[i] == 0x20 && i + 1 < t.count ? i + 1 : i
        if t.classAt(j).0 == .other {
            var k = t.skip(.other, from: j)
            while k < t.count && (t.bytes[k] == 0x0A || t.bytes[k] == 0x0D) { k += 1 }
            return k
        }
        // `\s*[\r\n]+`: the whitespace run up to and including its last newline.
        var k = i, lastNewline = -1
        while k < t.count {
            let (c, n) = t.classAt(k)
            if !c.isWhitespace { break }
            if c == .newline { lastNewline = k }
            k += n
        }
        if lastNewline >= 0 { return lastNewline + 1 }
        return whitespaceEnd(t, i)
    }

    // MARK: - Shared alternatives

    /// `'s|'t|'re|'ve|'m|'ll|'d`, optionally under `(?i:...)`. Oniguruma folds case the Unicode
    /// way, so `ſ` (long s, which folds to s) matches `'s` there too.
    static func contraction(_ t: UTF8Scanner, _ i: Int, caseInsensitive: Bool) -> Int? {
        guard t.bytes[i] == 0x27, i + 1 < t.count else { return nil }
        func letter(_ k: Int) -> UInt8? {
            guard k < t.count else { return nil }
            let b = t.bytes[k]
            return caseInsensitive && b >= 0x41 && b <= 0x5A ? b | 0x20 : b
        }
        let a = letter(i + 1)
        switch a {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return i + 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return letter(i + 2) == UInt8(ascii: "e") ? i + 3 : nil
        case UInt8(ascii: "l"):
            return letter(i + 2) == UInt8(ascii: "l") ? i + 3 : nil
        case 0xC5 where caseInsensitive && i + 2 < t.count && t.bytes[i + 2] == 0xBF:  // U+017F ſ
            return i + 3
        default: return nil
        }
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar: the whole run when it ends the text, else the run
    /// less its last scalar (which then leads the next word), but at least one scalar.
    static func whitespaceEnd(_ t: UTF8Scanner, _ i: Int) -> Int {
        var k = i, lastStart = i, scalars = 0
        while k < t.count {
            let (c, n) = t.classAt(k)
            if !c.isWhitespace { break }
            lastStart = k
            k += n
            scalars += 1
        }
        if scalars == 0 { return i + t.classAt(i).1 }  // not reached: every scalar has a class
        if k == t.count || scalars == 1 { return k }
        return lastStart
    }
}
