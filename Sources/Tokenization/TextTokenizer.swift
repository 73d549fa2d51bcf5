/// What the data path needs from a tokenizer: text to ids and back, and the special ids.
///
/// `SentencePieceTokenizer` reads `tokenizer.model`; `TokenizerFiles.load` picks the one a
/// model directory has. Special ids are -1 when the model has no such token.
public protocol TextTokenizer: Sendable {
    /// Encodes UTF-8 text to ids, without bos or eos.
    func encode(_ text: String) throws -> [Int]
    /// Encodes text as a model reads it on its own: with the bos (and eos) the tokenizer adds,
    /// as transformers' `encode(text)` does. SentencePiece models here add bos only.
    func encodeAddingSpecialTokens(_ text: String) throws -> [Int]
    /// Decodes ids to text; control tokens decode to nothing.
    func decode(_ ids: [Int]) throws -> String
    /// Beginning-of-sequence id, or -1.
    var bosID: Int { get }
    /// End-of-sequence id, or -1.
    var eosID: Int { get }
    /// Padding id, or -1.
    var padID: Int { get }
    /// Unknown-token id, or -1.
    var unkID: Int { get }
    /// Vocabulary size.
    var pieceCount: Int { get }
    /// The vocabulary entry of `id` as the file spells it (SentencePiece's `▁word`, byte-level
    /// BPE's `Ġword`), or nil outside the vocabulary.
    func piece(_ id: Int) -> String?
    /// True for control and special tokens (bos, eos, pad, a chat format's markers).
    func isControl(_ id: Int) -> Bool
}

extension SentencePieceTokenizer: TextTokenizer {}

extension TextTokenizer {
    /// Decodes what a model generated. A checkpoint's embedding often has more rows than its
    /// tokenizer has tokens (Qwen2.5: 151,936 rows, 151,665 tokens), so a model can emit an id
    /// with no token; it decodes to nothing, as the Rust tokenizers library decodes it.
    public func decodeGenerated(_ ids: [Int]) throws -> String {
        let count = pieceCount
        return try decode(ids.filter { $0 >= 0 && $0 < count })
    }

    public func encodeAddingSpecialTokens(_ text: String) throws -> [Int] {
        let ids = try encode(text)
        return bosID >= 0 ? [bosID] + ids : ids
    }

    /// The id batches are padded with: `padID`, else `eosID` (padding is never a target and
    /// is masked out of attention, so any real id works), else 0.
    public var paddingID: Int { padID >= 0 ? padID : (eosID >= 0 ? eosID : 0) }
}
