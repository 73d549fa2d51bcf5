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
            "--character_coverage=1.0", "--max_sentence_length=16384",
            "--minloglevel=2", "--num_threads=2",
        ].joined(separator: " ")
        var err = [CChar](repeating: 0, count: 2048)
        if spm_train(args, &err, err.count) != 0 {
            throw TokenizerError("tokenizer training failed: \(String(nulTerminated: err))")
        }
        let fm = FileManager.default
        for ext in ["model", "vocab"] {
            let dst = "\(dir)/tokenizer.\(ext)"
            if fm.fileExists(atPath: dst) { try fm.removeItem(atPath: dst) }
            try fm.moveItem(atPath: "\(tmpPrefix).\(ext)", toPath: dst)
        }
        return "\(dir)/tokenizer.model"
    }
}
