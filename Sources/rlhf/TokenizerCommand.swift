import ArgumentParser
import Datasets
import Foundation
import Tokenization

/// `rlhf tokenizer train`: a SentencePiece model trained on text files; `rlhf tokenizer encode`:
/// the ids a model directory's tokenizer gives a text, to compare with transformers'.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Train SentencePiece tokenizers; show the ids a model's tokenizer gives a text.",
        subcommands: [Train.self, Encode.self])

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the ids and tokens a model directory's tokenizer (tokenizer.model or tokenizer.json) gives a text, as JSON.")

        @Option(help: "A model or tokenizer directory, or a tokenizer.model / tokenizer.json file.") var tokenizer: String
        @Option(help: "The text to encode.") var text: String
        @Flag(help: "Add the bos/eos the tokenizer adds (transformers' add_special_tokens=True); default: none, as add_special_tokens=False.")
        var addSpecialTokens = false

        func run() throws {
            let tok = try TokenizerFiles.load(tokenizer)
            let ids = try addSpecialTokens ? tok.encodeAddingSpecialTokens(text) : tok.encode(text)
            try printJSON(["ids": ids, "tokens": ids.map { tok.piece($0) ?? "" }, "decoded": try tok.decode(ids),
                           "pieces": tok.pieceCount, "bos_id": tok.bosID, "eos_id": tok.eosID, "pad_id": tok.padID])
        }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train tokenizer.model (byte fallback; unk 0, bos 1, eos 2, pad 3, as the model configs use).")

        @Option(parsing: .upToNextOption, help: ArgumentHelp(
            "Text files (one sentence or document per line), or datasets (.json/.jsonl files or directories in any format `rlhf data inspect` reads): their prompts and responses are the corpus."))
        var input: [String]
        @Option(help: ArgumentHelp(
            "Vocabulary size: at least the characters kept at --character-coverage + 256 byte pieces + 4 special pieces, at most what the corpus yields (an error names both)."))
        var vocabSize: Int
        @Option(help: ArgumentHelp(
            "Share of the corpus's characters that get a piece of their own; rarer characters are encoded as UTF-8 bytes (lossless). 0.9995, SentencePiece's default, suits Chinese and other large alphabets; 1.0 keeps every character seen."))
        var characterCoverage: Double = TokenizerTrainer.defaultCharacterCoverage
        @Option(help: "bpe or unigram.") var modelType: String = "bpe"
        @Option(help: "Output directory (tokenizer.model, tokenizer.vocab).") var out: String
        @Flag(inversion: .prefixedNo, help: "Split numbers into single digits, as Llama's tokenizer does.")
        var splitDigits = true

        func run() throws {
            guard let type = TokenizerTrainer.ModelType(rawValue: modelType) else {
                throw ValidationError("--model-type must be one of: \(TokenizerTrainer.ModelType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let corpus = try DatasetCorpus(inputs: input, scratchDirectory: out)
            defer { corpus.removeScratch() }
            var trainer = TokenizerTrainer(inputFiles: corpus.files, vocabSize: vocabSize, modelType: type)
            trainer.splitDigits = splitDigits
            trainer.characterCoverage = characterCoverage
            let path = try trainer.train(outputDirectory: out)
            let tok = try SentencePieceTokenizer(contentsOf: path)
            try printJSON(["tokenizer": path, "pieces": tok.pieceCount, "bos_id": tok.bosID, "eos_id": tok.eosID,
                           "pad_id": tok.padID, "unk_id": tok.unkID,
                           "character_coverage": characterCoverage])
        }
    }
}
