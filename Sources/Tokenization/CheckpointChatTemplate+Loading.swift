import Foundation

/// Finding a checkpoint's template and special tokens in its directory.
extension CheckpointChatTemplate {
    /// The template a Hugging Face checkpoint directory ships: `chat_template.jinja`, else the
    /// `chat_template` of `tokenizer_config.json` (a string, or a list of `{"name", "template"}`
    /// of which "default" is used, as transformers does). Special tokens come from
    /// `tokenizer_config.json`, then `special_tokens_map.json` for those it lacks.
    ///
    /// - Parameter directory: a checkpoint directory.
    /// - Returns: nil when the directory has no chat template.
    /// - Throws: `ChatTemplateError` when a file is unreadable or the template cannot be parsed.
    public static func load(fromDirectory directory: String) throws -> CheckpointChatTemplate? {
        let configPath = "\(directory)/tokenizer_config.json"
        let config = try jsonObject(atPath: configPath)
        var specialTokens = specialTokenStrings(config)
        for (name, value) in specialTokenStrings(try jsonObject(atPath: "\(directory)/special_tokens_map.json"))
        where specialTokens[name] == nil {
            specialTokens[name] = value
        }
        let jinjaPath = "\(directory)/chat_template.jinja"
        if FileManager.default.fileExists(atPath: jinjaPath) {
            guard let data = FileManager.default.contents(atPath: jinjaPath), let source = String(data: data, encoding: .utf8) else {
                throw ChatTemplateError(kind: .file, line: nil, origin: jinjaPath, message: "unreadable or not UTF-8")
            }
            return try CheckpointChatTemplate(source: source, specialTokens: specialTokens, origin: jinjaPath)
        }
        guard let entry = config?["chat_template"] else { return nil }
        let source: String
        switch entry {
        case let text as String:
            source = text
        case let named as [[String: Any]]:
            let templates = Dictionary(named.compactMap { item -> (String, String)? in
                guard let name = item["name"] as? String, let text = item["template"] as? String else { return nil }
                return (name, text)
            }, uniquingKeysWith: { first, _ in first })
            guard let text = templates["default"] else {
                throw ChatTemplateError(kind: .file, line: nil, origin: configPath, message:
                    "chat_template lists templates \(templates.keys.sorted()) but none named \"default\"; " + ChatTemplateError.builtInHint)
            }
            source = text
        default:
            throw ChatTemplateError(kind: .file, line: nil, origin: configPath,
                                    message: "chat_template should be a string or a list of {\"name\", \"template\"}")
        }
        return try CheckpointChatTemplate(source: source, specialTokens: specialTokens, origin: "\(configPath) (chat_template)")
    }

    private static func jsonObject(atPath path: String) throws -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ChatTemplateError(kind: .file, line: nil, origin: path, message: "not a JSON object")
        }
        return object
    }

    /// `bos_token` and the like, written either as a string or as an AddedToken `{"content": ...}`.
    private static func specialTokenStrings(_ config: [String: Any]?) -> [String: String] {
        var tokens: [String: String] = [:]
        for name in ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] {
            switch config?[name] {
            case let text as String: tokens[name] = text
            case let added as [String: Any]: if let text = added["content"] as? String { tokens[name] = text }
            default: break
            }
        }
        return tokens
    }
}
