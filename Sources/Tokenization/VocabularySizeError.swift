import Foundation

/// A vocabulary size the corpus cannot give a tokenizer: too small to hold the characters it must
/// have a piece for, or larger than the pieces SentencePiece can make from the corpus. The message
/// names the limit, the sizes that would work and the options that change them.
public struct VocabularySizeError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Limit: String, Sendable { case tooSmall = "too small", tooLarge = "too large" }

    public var limit: Limit
    /// The `--vocab-size` asked for.
    public var requested: Int
    /// The smallest size that works at `characterCoverage`: kept characters plus reserved pieces.
    public var minimum: Int
    /// The largest size SentencePiece reported it could make (known only once it has tried).
    public var maximum: Int?
    public var characterCoverage: Double
    /// Distinct characters that get a piece of their own at `characterCoverage`.
    public var keptCharacters: Int
    /// Byte pieces (256 with byte fallback, else 0).
    public var bytePieces: Int
    /// Special pieces (unk, bos, eos, pad).
    public var specialPieces: Int
    /// For a size too small: a lower coverage at which the requested size holds the characters
    /// (four decimals, rounded down); nil when none does.
    public var fittingCoverage: Double?
    /// The characters kept at `fittingCoverage`.
    public var charactersAtFittingCoverage: Int?
    /// For a size too small with no fitting coverage: the least size at SentencePiece's lowest
    /// coverage (0.98), when that is below `minimum`.
    public var minimumAtLowestCoverage: Int?

    public var description: String {
        let coverage = CorpusAlphabet.flagText(characterCoverage)
        let reserved = bytePieces > 0
            ? "the \(bytePieces) byte pieces and \(specialPieces) special pieces (unk, bos, eos, pad)"
            : "the \(specialPieces) special pieces (unk, bos, eos, pad)"
        switch limit {
        case .tooSmall:
            var text = "--vocab-size \(requested) is too small for this corpus: at --character-coverage \(coverage) it keeps "
                + "\(keptCharacters) distinct characters, which with \(reserved) need at least \(minimum) pieces. "
                + "Use --vocab-size \(minimum) or more"
            if let fittingCoverage, let charactersAtFittingCoverage {
                text += ", or --character-coverage \(CorpusAlphabet.flagText(fittingCoverage)) or lower (keeps "
                    + "\(charactersAtFittingCoverage) characters"
                    + (bytePieces > 0 ? "; rarer ones are encoded as UTF-8 bytes)" : "; rarer ones become unk)")
            } else if let least = minimumAtLowestCoverage {
                text += " (even --character-coverage \(CorpusAlphabet.flagText(TokenizerTrainer.lowestCharacterCoverage)), "
                    + "the lowest SentencePiece takes, needs \(least))"
            }
            return text + "."
        case .tooLarge:
            let most = maximum.map { "SentencePiece can make at most \($0) pieces from it" } ?? "SentencePiece cannot make that many pieces from it"
            let range = maximum.map { "from \(minimum) to \($0)" } ?? "below \(requested)"
            return "--vocab-size \(requested) is too large for this corpus: \(most) at --character-coverage \(coverage) "
                + "(the least is \(minimum): \(keptCharacters) characters + \(bytePieces) byte pieces + \(specialPieces) special pieces). "
                + "Use --vocab-size \(range), or train on more text."
        }
    }

    /// The two limits as SentencePiece reports them:
    /// "Vocabulary size is smaller than required_chars. 300 vs 311." (the second number is the
    /// least that works) and "Vocabulary size too high (5000). Please set it to a value <= 2250."
    enum SentencePieceReport: Equatable {
        case tooSmall(minimum: Int)
        case tooLarge(maximum: Int)

        init?(_ message: String) {
            if let n = Self.number(in: message, after: "Vocabulary size is smaller than required_chars. ", from: " vs ") {
                self = .tooSmall(minimum: n)
            } else if let n = Self.number(in: message, after: "Vocabulary size too high", from: "<= ") {
                self = .tooLarge(maximum: n)
            } else {
                return nil
            }
        }

        private static func number(in message: String, after marker: String, from lead: String) -> Int? {
            guard let m = message.range(of: marker), let l = message.range(of: lead, range: m.upperBound..<message.endIndex) else {
                return nil
            }
            return Int(message[l.upperBound...].prefix { $0.isASCII && $0.isNumber })
        }
    }
}
