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
        let configPath = "\(directory)/\(HuggingFaceTokenizerConfig.fileName)"
        let config = try read(configPath)
        // special_tokens_map.json spells its tokens as tokenizer_config.json does.
        var specialTokens = config?.specialTokens ?? [:]
        for (name, value) in try read("\(directory)/special_tokens_map.json")?.specialTokens ?? [:] where specialTokens[name] == nil {
            specialTokens[name] = value
        }
        let jinjaPath = "\(directory)/chat_template.jinja"
        if FileManager.default.fileExists(atPath: jinjaPath) {
            guard let data = FileManager.default.contents(atPath: jinjaPath), let source = String(data: data, encoding: .utf8) else {
                throw ChatTemplateError(kind: .file, line: nil, origin: jinjaPath, message: "unreadable or not UTF-8")
            }
            return try CheckpointChatTemplate(source: source, specialTokens: specialTokens, origin: jinjaPath)
        }
        guard let config else { return nil }
        guard let source = config.chatTemplate else {
            guard config.chatTemplateNames.isEmpty else {
                throw ChatTemplateError(kind: .file, line: nil, origin: configPath, message:
                    "chat_template lists templates \(config.chatTemplateNames.sorted()) but none named \"default\"; " + ChatTemplateError.builtInHint)
            }
            return nil
        }
        return try CheckpointChatTemplate(source: source, specialTokens: specialTokens, origin: "\(configPath) (chat_template)")
    }

    /// The config at `path`, nil when there is no such file; a malformed one is an error naming it.
    private static func read(_ path: String) throws -> HuggingFaceTokenizerConfig? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try HuggingFaceTokenizerConfig(contentsOf: path)
        } catch let error as TokenizerError {
            let message = error.description.hasPrefix(path + ": ") ? String(error.description.dropFirst(path.count + 2)) : error.description
            throw ChatTemplateError(kind: .file, line: nil, origin: path, message: message)
        }
    }
}
