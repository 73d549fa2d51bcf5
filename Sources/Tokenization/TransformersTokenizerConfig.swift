import Foundation

/// The `tokenizer_config.json` written beside a SentencePiece `tokenizer.model`, so that
/// transformers' `AutoTokenizer.from_pretrained(DIR)` reads the model directory as this tool does:
/// the same ids for the same text, the same special tokens (pad included), and the chat template
/// that trained the model.
///
/// The SentencePiece models `rlhf tokenizer train` writes add no dummy prefix and normalize
/// nothing, so transformers' Llama tokenizer must be told `legacy: false` and
/// `add_prefix_space: false`; without them it prepends "▁" and every first word encodes to other
/// ids. transformers converts `tokenizer.model` with the protobuf package.
public enum TransformersTokenizerConfig {
    public static let fileName = "tokenizer_config.json"
    /// Where transformers (4.49 and later) reads a tokenizer's chat template from.
    public static let chatTemplateFileName = "chat_template.jinja"

    /// The keys written for `tokenizer`, with `chatTemplate` (Jinja source) when given.
    public static func contents(for tokenizer: SentencePieceTokenizer, chatTemplate: String?) -> [String: Any] {
        var config: [String: Any] = [
            "tokenizer_class": "LlamaTokenizer",
            "add_bos_token": tokenizer.bosID >= 0,
            "add_eos_token": false,
            "legacy": false,
            "add_prefix_space": false,
            "clean_up_tokenization_spaces": false,
        ]
        let specials = [("bos_token", tokenizer.bosID), ("eos_token", tokenizer.eosID),
                        ("unk_token", tokenizer.unkID), ("pad_token", tokenizer.padID)]
        for (key, id) in specials where id >= 0 {
            if let piece = tokenizer.piece(id) { config[key] = piece }
        }
        if let chatTemplate { config["chat_template"] = chatTemplate }
        return config
    }

    /// True when `path` is missing or holds a config of the kind `write` writes (a Llama
    /// tokenizer told `legacy: false, add_prefix_space: false`), which may then be rewritten; a
    /// checkpoint's own config is anything else.
    public static func isAbsentOrOurs(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return true }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["tokenizer_class"] as? String == "LlamaTokenizer" && object["legacy"] as? Bool == false
            && object["add_prefix_space"] as? Bool == false
    }

    /// Writes `tokenizer_config.json` into `directory`, atomically (`ChatFormat.save` writes
    /// `chat_template.jinja`; the template is also in this file for transformers before 4.49).
    public static func write(for tokenizer: SentencePieceTokenizer, chatTemplate: String?, to directory: String) throws {
        let object = contents(for: tokenizer, chatTemplate: chatTemplate)
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFileWrite.write(data, to: (directory as NSString).appendingPathComponent(fileName), what: "the transformers tokenizer config")
    }
}
