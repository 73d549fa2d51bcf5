/// Why token ids, lengths or sizes handed to the model cannot be run: what is wrong, with the
/// offending value and the limit it broke, in words the sender of a message can act on.
///
/// Thrown by the entry points that take data from outside the process (messages, files, flags):
/// `Generator.generate` and `rollout`, `Llama.validate(...)`, `KVCache.init`, the checked
/// inference pass, and the Training module's response scoring. The passes themselves keep
/// `precondition`s for invariants only their own (validated) callers can break.
public enum ModelInputError: Error, Equatable, CustomStringConvertible {
    /// A token id below 0 or at/after the vocabulary size. `position` says where (e.g. "prompt 3, token 7").
    case tokenOutsideVocabulary(token: Int, vocabularySize: Int, position: String)
    /// A sequence (prompt, response, row) with no tokens where at least one is needed.
    case emptySequence(String)
    /// A sequence would be longer than the model's positions (max_position_embeddings) allow.
    case sequenceTooLong(what: String, length: Int, maxPositionEmbeddings: Int)
    /// A sequence would grow past the capacity of the KV cache it is decoded in.
    case cacheCapacityExceeded(sequence: Int, length: Int, capacity: Int)
    /// A sequence index outside the KV cache's batch, or more segments than sequences.
    case sequenceOutsideCache(sequence: Int, batch: Int)
    /// A length outside the range the batch allows (e.g. a score length outside 1...T).
    case lengthOutOfRange(what: String, length: Int, range: ClosedRange<Int>)
    /// Two lists that must match one to one have different counts.
    case countMismatch(what: String, expected: Int, got: Int)
    /// A size or count that must be positive (batch, samples per prompt, new tokens) is not.
    case notPositive(what: String, value: Int)

    public var description: String {
        switch self {
        case let .tokenOutsideVocabulary(token, vocabularySize, position):
            "token id \(token) at \(position) is outside the vocabulary of \(vocabularySize) (valid ids 0..<\(vocabularySize))"
        case let .emptySequence(what):
            "\(what) is empty: it needs at least one token"
        case let .sequenceTooLong(what, length, limit):
            "\(what) would grow to \(length) tokens, past max_position_embeddings \(limit)"
        case let .cacheCapacityExceeded(sequence, length, capacity):
            "sequence \(sequence) would grow to \(length) tokens, past the KV cache capacity \(capacity)"
        case let .sequenceOutsideCache(sequence, batch):
            "sequence \(sequence) is outside the KV cache's batch of \(batch)"
        case let .lengthOutOfRange(what, length, range):
            "\(what) is \(length), outside \(range.lowerBound)...\(range.upperBound)"
        case let .countMismatch(what, expected, got):
            "\(what): expected \(expected), got \(got)"
        case let .notPositive(what, value):
            "\(what) is \(value); it must be at least 1"
        }
    }
}
