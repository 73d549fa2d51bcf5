/// What the data path needs from a tokenizer: text to ids and back, and the special ids.
///
/// `SentencePieceTokenizer` is the implementation the engine ships; tests and other tokenizers
/// can conform too. Special ids are -1 when the model has no such token.
public protocol TextTokenizer: Sendable {
    /// Encodes UTF-8 text to ids, without bos or eos.
    func encode(_ text: String) throws -> [Int]
    /// Decodes ids to text; control tokens decode to nothing.
    func decode(_ ids: [Int]) throws -> String
    /// Beginning-of-sequence id, or -1.
    var bosID: Int { get }
    /// End-of-sequence id, or -1.
    var eosID: Int { get }
    /// Padding id, or -1.
    var padID: Int { get }
    /// Vocabulary size.
    var pieceCount: Int { get }
}

extension SentencePieceTokenizer: TextTokenizer {}

extension TextTokenizer {
    /// The id batches are padded with: `padID`, else `eosID` (padding is never a target and
    /// is masked out of attention, so any real id works), else 0.
    public var paddingID: Int { padID >= 0 ? padID : (eosID >= 0 ? eosID : 0) }
}
