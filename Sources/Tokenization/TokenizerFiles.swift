import Foundation

/// The tokenizer files a model directory holds, the tokenizer they make, and carrying them to
/// the directories a run writes.
///
/// A directory has a SentencePiece `tokenizer.model` (what `rlhf tokenizer train` writes and
/// 2023-era checkpoints ship), a Hugging Face `tokenizer.json` (Llama 3, Qwen2, SmolLM, Mistral
/// Nemo), or both (Llama 2, Mistral 7B). When both are there `tokenizer.model` is used: the
/// SentencePiece library is the reference for that file, and the `tokenizer.json` beside it was
/// converted from it.
public enum TokenizerFiles {
    /// SentencePiece's model file.
    public static let sentencePieceModel = "tokenizer.model"
    /// The Hugging Face `tokenizers` file.
    public static let huggingFaceTokenizer = "tokenizer.json"

    /// Every file that belongs to a checkpoint's text pipeline; saved models keep the ones their
    /// source had, so that transformers (and this tool) read the same tokenizer and template.
    public static let companionNames = [
        "tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "chat_template.jinja",
    ]

    /// The tokenizer file of `directory`: `tokenizer.model` if it has one, else `tokenizer.json`,
    /// else nil.
    public static func file(in directory: String) -> String? {
        for name in [sentencePieceModel, huggingFaceTokenizer] {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    /// The tokenizer of `directory`, or nil when it has no tokenizer file.
    ///
    /// - Throws: `TokenizerError` naming the file when it is there but cannot be used.
    public static func loadIfPresent(directory: String) throws -> (any TextTokenizer)? {
        guard let file = file(in: directory) else { return nil }
        return try load(file: file)
    }

    /// The tokenizer at `path`: a model directory, a `tokenizer.model`, or a `tokenizer.json`.
    ///
    /// - Throws: `TokenizerError` naming what was looked for when there is no tokenizer there.
    public static func load(_ path: String) throws -> any TextTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError("\(path): no such tokenizer file or directory")
        }
        guard isDirectory.boolValue else { return try load(file: path) }
        guard let file = file(in: path) else {
            throw TokenizerError("\(path): no \(sentencePieceModel) or \(huggingFaceTokenizer) in this directory")
        }
        return try load(file: file)
    }

    /// The directory whose companion files go with the tokenizer at `path` (a directory or a file).
    public static func directory(of path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return path }
        return (path as NSString).deletingLastPathComponent
    }

    private static func load(file: String) throws -> any TextTokenizer {
        guard file.hasSuffix(".json") else { return try SentencePieceTokenizer(contentsOf: file) }
        // transformers reads bos/eos/pad and whether to add them from the tokenizer_config.json beside it.
        let configPath = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(HuggingFaceTokenizerConfig.fileName)
        let config = FileManager.default.fileExists(atPath: configPath) ? try HuggingFaceTokenizerConfig(contentsOf: configPath) : nil
        return try HuggingFaceTokenizer(tokenizerFile: file, config: config)
    }

    /// Copies the companion files of `source` (a directory, or a tokenizer file whose directory is
    /// meant) into `destination`, each through a temporary file and a rename, leaving files that
    /// are already the same path alone.
    ///
    /// - Returns: the names copied.
    @discardableResult
    public static func copyCompanions(from source: String, to destination: String) throws -> [String] {
        let fm = FileManager.default
        let from = directory(of: source)
        var copied: [String] = []
        for name in companionNames {
            let input = URL(fileURLWithPath: from).appendingPathComponent(name)
            let output = URL(fileURLWithPath: destination).appendingPathComponent(name)
            guard fm.fileExists(atPath: input.path), input.standardizedFileURL != output.standardizedFileURL else { continue }
            try AtomicFileWrite.copy(input.path, to: output.path)
            copied.append(name)
        }
        return copied
    }
}
