import CSentencePiece
import Foundation

/// Trains a SentencePiece model on text files, with the special ids our model configs use.
public struct TokenizerTrainer: Sendable {
    public enum ModelType: String, Sendable, CaseIterable { case bpe, unigram }

    public var inputFiles: [String]
    public var vocabSize: Int
    public var modelType: ModelType = .bpe
    /// Byte fallback keeps every UTF-8 input encodable: unknown characters become byte pieces.
    public var byteFallback = true
    /// Numbers become single digits (as Llama's tokenizer does), so arithmetic is learnable.
    public var splitDigits = true
    /// Ids follow the Llama convention (unk 0, bos 1, eos 2) and add a pad piece at 3, so that
    /// batches can be padded with an id the model never has to predict.
    public var unkID = 0, bosID = 1, eosID = 2, padID = 3
    /// Cap on the sentences read, so a large corpus trains in bounded time. The first ones are
    /// taken (no shuffling), so training is deterministic.
    public var inputSentenceSize = 200_000
    /// Lines longer than this many bytes are skipped (SentencePiece's `max_sentence_length`).
    public var maxSentenceBytes = 16_384
    /// Share of the corpus's characters (by occurrence) that get a piece of their own: the most
    /// frequent characters are kept until they make up this share; rarer ones are encoded as
    /// UTF-8 byte pieces (byte fallback), so text still round-trips exactly. See
    /// `defaultCharacterCoverage` for the default.
    public var characterCoverage = TokenizerTrainer.defaultCharacterCoverage
    /// SentencePiece's own default, and what MedicalGPT's tokenizer scripts and Chinese Llama
    /// tokenizers train with: on Chinese text, characters seen a handful of times would otherwise
    /// take a piece each (thousands on a large corpus) with embeddings that barely train. On a
    /// small alphabet (English, code) only characters making up less than 0.05% of the text go to
    /// bytes, and byte fallback keeps them lossless; 1.0 gives every character seen a piece.
    public static let defaultCharacterCoverage = 0.9995
    /// SentencePiece refuses a coverage below this.
    public static let lowestCharacterCoverage = 0.98
    /// Checks the vocabulary size against the corpus's characters before SentencePiece runs.
    /// The same limit is also read back from SentencePiece's own report when it fails; turning
    /// this off exercises that path (tests).
    public var checksCharactersFirst = true

    public init(inputFiles: [String], vocabSize: Int, modelType: ModelType = .bpe) {
        self.inputFiles = inputFiles
        self.vocabSize = vocabSize
        self.modelType = modelType
    }

    /// Trains and writes `DIR/tokenizer.model` (and `tokenizer.vocab`); returns the model path.
    @discardableResult
    public func train(outputDirectory dir: String) throws -> String {
        for f in inputFiles where !FileManager.default.fileExists(atPath: f) {
            throw TokenizerError("\(f): no such input file")
        }
        // SentencePiece's trainer takes one flag string split at spaces and commas: such a path
        // would be read as two, so it is refused here rather than misread there.
        for f in inputFiles + [dir] where f.contains(" ") || f.contains(",") {
            throw TokenizerError("\(f): SentencePiece cannot take a path with a space or a comma; rename or link it")
        }
        guard vocabSize >= 8 else { throw TokenizerError("--vocab-size must be at least 8, got \(vocabSize)") }
        guard characterCoverage >= Self.lowestCharacterCoverage && characterCoverage <= 1 else {
            throw TokenizerError("--character-coverage must be from \(Self.lowestCharacterCoverage) to 1.0 (SentencePiece's range), got \(characterCoverage)")
        }
        let alphabet = try self.alphabet()
        guard alphabet.total > 0 else {
            throw TokenizerError("\(inputFiles.joined(separator: ", ")): no text to train on (non-empty lines of at most \(maxSentenceBytes) bytes)")
        }
        if checksCharactersFirst, vocabSize < minimumVocabSize(alphabet) {
            throw tooSmall(alphabet, minimum: minimumVocabSize(alphabet))
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // SentencePiece writes PREFIX.model itself; train under a temporary prefix and rename, so
        // a crash never leaves a half-written tokenizer.model behind.
        let tmpPrefix = "\(dir)/.tokenizer-\(getpid())"
        let args = [
            "--input=\(inputFiles.joined(separator: ","))",
            "--model_prefix=\(tmpPrefix)",
            "--vocab_size=\(vocabSize)",
            "--model_type=\(modelType.rawValue)",
            "--byte_fallback=\(byteFallback)", "--split_digits=\(splitDigits)",
            "--unk_id=\(unkID)", "--bos_id=\(bosID)", "--eos_id=\(eosID)", "--pad_id=\(padID)",
            "--input_sentence_size=\(inputSentenceSize)", "--shuffle_input_sentence=false",
            // As Llama's tokenizer: no NFKC and no whitespace folding, so newlines and indentation
            // in chat templates, code and data survive a round trip.
            "--normalization_rule_name=identity", "--remove_extra_whitespaces=false", "--allow_whitespace_only_pieces=true",
            // No dummy "▁" before each text: templates encode segment by segment, and a prefix on each
            // would double the spaces at their joins.
            "--add_dummy_prefix=false",
            "--character_coverage=\(CorpusAlphabet.flagText(characterCoverage))", "--max_sentence_length=\(maxSentenceBytes)",
            "--minloglevel=2", "--num_threads=2",
        ].joined(separator: " ")
        var err = [CChar](repeating: 0, count: 2048)
        if spm_train(args, &err, err.count) != 0 {
            let message = String(nulTerminated: err)
            for ext in ["model", "vocab"] { try? FileManager.default.removeItem(atPath: "\(tmpPrefix).\(ext)") }
            switch VocabularySizeError.SentencePieceReport(message) {
            case .tooSmall(let minimum): throw tooSmall(alphabet, minimum: minimum)
            case .tooLarge(let maximum): throw tooLarge(alphabet, maximum: maximum)
            case nil: throw TokenizerError("tokenizer training failed: \(message)")
            }
        }
        let fm = FileManager.default
        for ext in ["model", "vocab"] {
            let dst = "\(dir)/tokenizer.\(ext)"
            if fm.fileExists(atPath: dst) { try fm.removeItem(atPath: dst) }
            try fm.moveItem(atPath: "\(tmpPrefix).\(ext)", toPath: dst)
        }
        return "\(dir)/tokenizer.model"
    }

    /// The corpus's characters as SentencePiece will count them in this training.
    public func alphabet() throws -> CorpusAlphabet {
        try CorpusAlphabet(files: inputFiles, maxSentences: inputSentenceSize, maxSentenceBytes: maxSentenceBytes)
    }

    /// Pieces reserved whatever the corpus: 256 bytes with byte fallback, and the special pieces.
    public var bytePieces: Int { byteFallback ? 256 : 0 }
    public var specialPieces: Int { [unkID, bosID, eosID, padID].filter { $0 >= 0 }.count }

    /// The smallest vocabulary SentencePiece accepts for this corpus at `characterCoverage`:
    /// one piece per kept character, plus the byte and special pieces.
    public func minimumVocabSize(_ alphabet: CorpusAlphabet) -> Int {
        alphabet.keptCharacters(coverage: characterCoverage) + bytePieces + specialPieces
    }

    private func tooSmall(_ alphabet: CorpusAlphabet, minimum: Int) -> VocabularySizeError {
        var error = baseError(.tooSmall, minimum: minimum)
        if let c = alphabet.coverage(keepingAtMost: vocabSize - bytePieces - specialPieces),
           c < characterCoverage, c >= Self.lowestCharacterCoverage {
            error.fittingCoverage = c
            error.charactersAtFittingCoverage = alphabet.keptCharacters(coverage: c)
        } else if characterCoverage > Self.lowestCharacterCoverage {
            var lowest = self
            lowest.characterCoverage = Self.lowestCharacterCoverage
            let least = lowest.minimumVocabSize(alphabet)
            if least < minimum { error.minimumAtLowestCoverage = least }
        }
        return error
    }

    private func tooLarge(_ alphabet: CorpusAlphabet, maximum: Int) -> VocabularySizeError {
        var error = baseError(.tooLarge, minimum: minimumVocabSize(alphabet))
        error.maximum = maximum
        return error
    }

    private func baseError(_ limit: VocabularySizeError.Limit, minimum: Int) -> VocabularySizeError {
        VocabularySizeError(
            limit: limit, requested: vocabSize, minimum: minimum, maximum: nil, characterCoverage: characterCoverage,
            keptCharacters: minimum - bytePieces - specialPieces, bytePieces: bytePieces, specialPieces: specialPieces,
            fittingCoverage: nil, charactersAtFittingCoverage: nil, minimumAtLowestCoverage: nil)
    }
}
