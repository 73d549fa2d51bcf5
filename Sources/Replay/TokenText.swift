import Foundation
import Tokenization

/// Token ids as text for people: the log's copy of the actor's tokenizer decodes each piece on
/// its own (SentencePiece's ▁ shown as a space, control pieces by name), and whole sequences.
public struct TokenText: Sendable {
    let tokenizer: (any TextTokenizer)?

    /// - Parameter logDirectory: the experience log's directory; without a tokenizer copy there,
    ///   tokens show as `#id`.
    public init(logDirectory: String) {
        tokenizer = try? TokenizerFiles.loadIfPresent(directory: logDirectory)
    }

    /// One token as it reads in context.
    public func piece(_ id: Int32) -> String {
        guard let tokenizer, let p = tokenizer.piece(Int(id)) else { return "#\(id)" }
        if tokenizer.isControl(Int(id)) { return p }
        guard tokenizer is SentencePieceTokenizer else {
            // Byte-level pieces spell bytes as stand-in characters (Ġ for a space); decoding the
            // one token shows what it reads as (a part of a multi-byte character shows as U+FFFD).
            return (try? tokenizer.decode([Int(id)])) ?? p
        }
        return p.replacingOccurrences(of: "\u{2581}", with: " ")
    }

    /// A sequence decoded whole (byte pieces joined into their characters). A checkpoint
    /// template's markers (`<|im_start|>`) are special tokens of a `tokenizer.json`, and are
    /// shown: they are where a prompt's turns begin.
    public func text(_ ids: [Int32]) -> String {
        guard let tokenizer else { return ids.map { "#\($0)" }.joined(separator: " ") }
        let known = ids.map(Int.init).filter { $0 >= 0 && $0 < tokenizer.pieceCount }
        if let byteLevel = tokenizer as? HuggingFaceTokenizer, let text = try? byteLevel.decode(known, skipSpecialTokens: false) {
            return text
        }
        return (try? tokenizer.decode(known)) ?? ids.map { piece($0) }.joined()
    }
}
