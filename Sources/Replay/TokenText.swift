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

    /// A sequence decoded whole (byte pieces joined into their characters).
    public func text(_ ids: [Int32]) -> String {
        guard let tokenizer else { return ids.map { "#\($0)" }.joined(separator: " ") }
        return (try? tokenizer.decode(ids.map(Int.init))) ?? ids.map { piece($0) }.joined()
    }
}
