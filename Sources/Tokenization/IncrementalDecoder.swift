/// Turns tokens into text as they are generated, for printing while a model writes.
///
/// Decoding token by token piece-wise goes wrong in two ways: a character split over several
/// byte-fallback pieces (most of CJK, emoji) decodes to U+FFFD until its last byte arrives, and
/// SentencePiece's "▁" is a space except at the start of a text. So each call decodes every token
/// of the answer so far, as the final decode will, and hands out only what extends the text
/// already handed out, holding back a trailing U+FFFD that the next byte may complete. An answer
/// is a few hundred tokens at most, and decoding them is microseconds, so redoing it per token
/// costs nothing next to a decoding step.
public struct IncrementalDecoder {
    /// Decodes the tokens.
    public let tokenizer: any TextTokenizer
    /// Tokens never shown (the stop tokens).
    public let hidden: Set<Int>
    /// Every token appended, hidden ones included.
    public private(set) var ids: [Int] = []
    /// The Unicode scalars handed out so far.
    private var emitted: [Unicode.Scalar] = []

    /// - Parameters:
    ///   - tokenizer: the model's tokenizer.
    ///   - hidden: tokens left out of the text (the end-of-turn and eos tokens).
    public init(tokenizer: any TextTokenizer, hidden: Set<Int> = []) {
        self.tokenizer = tokenizer
        self.hidden = hidden
    }

    /// The answer so far: every token decoded, leading whitespace (the space that opens an
    /// answer after its template's prefix) dropped.
    public func text() throws -> String {
        let decoded = try tokenizer.decodeGenerated(ids.filter { !hidden.contains($0) })
        return String(decoded.drop { $0.isWhitespace })
    }

    /// Adds one token.
    /// - Returns: the text that became final with it: empty while a character is incomplete or
    ///   when the token shows nothing.
    public mutating func append(_ id: Int) throws -> String {
        ids.append(id)
        return try take(holdingBackIncomplete: true)
    }

    /// Once no token will follow: whatever was held back.
    public mutating func finish() throws -> String {
        try take(holdingBackIncomplete: false)
    }

    private mutating func take(holdingBackIncomplete: Bool) throws -> String {
        let scalars = Array(try text().unicodeScalars)
        var end = scalars.count
        if holdingBackIncomplete {
            while end > emitted.count && scalars[end - 1] == "\u{FFFD}" { end -= 1 }
        }
        // Only text that extends what was shown can be shown: a terminal cannot take text back.
        // SentencePiece's decode of a longer sequence keeps the shorter one's text as a prefix,
        // but for a trailing U+FFFD that a later byte completes, which is held back above; should
        // it ever differ, streaming waits and `finish` shows what lies beyond the shown length.
        guard end > emitted.count else { return "" }
        if holdingBackIncomplete && !scalars[..<emitted.count].elementsEqual(emitted) { return "" }
        let new = scalars[emitted.count..<end]
        emitted.append(contentsOf: new)
        var out = ""
        out.unicodeScalars.append(contentsOf: new)
        return out
    }
}
