/// What the engine reads from a checkpoint's `tokenizer_config.json`: the special tokens by
/// name, whether encoding adds them, and the chat template.
///
/// A plain data type: the tokenizer resolves the names to ids, and the chat code reads the
/// template and the token strings.
public struct HuggingFaceTokenizerConfig: Sendable, Equatable {
    public static let fileName = "tokenizer_config.json"

    /// The special tokens' texts; the file gives each as a string or as an AddedToken object
    /// (`{"content": ...}`).
    public var bosToken: String?
    public var eosToken: String?
    public var padToken: String?
    public var unkToken: String?
    /// Whether `add_special_tokens=True` puts bos first / eos last; nil when the file does not
    /// say (then `tokenizer.json`'s post-processor decides, as in transformers).
    public var addBOSToken: Bool?
    public var addEOSToken: Bool?
    /// The Jinja chat template: the file's string, or from its list of named templates the one
    /// called "default".
    public var chatTemplate: String?
    /// The names of the file's list of named templates (empty for a single string), so that a
    /// list without "default" can be named in an error.
    public var chatTemplateNames: [String] = []
    /// Every special token the file names, by key (`bos_token`, `eos_token`, `unk_token`,
    /// `sep_token`, `pad_token`, `cls_token`, `mask_token`): what transformers passes a chat
    /// template as variables.
    public var specialTokens: [String: String] = [:]
    /// The longest input the model was made for, when the file gives a plausible one
    /// (transformers writes 1e30 for "no limit"; that reads as nil).
    public var modelMaxLength: Int?

    /// - Parameters: each field as documented on its property.
    public init(bosToken: String? = nil, eosToken: String? = nil, padToken: String? = nil, unkToken: String? = nil,
                addBOSToken: Bool? = nil, addEOSToken: Bool? = nil, chatTemplate: String? = nil, modelMaxLength: Int? = nil) {
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.padToken = padToken
        self.unkToken = unkToken
        self.addBOSToken = addBOSToken
        self.addEOSToken = addEOSToken
        self.chatTemplate = chatTemplate
        self.modelMaxLength = modelMaxLength
        for (key, text) in [("bos_token", bosToken), ("eos_token", eosToken), ("pad_token", padToken), ("unk_token", unkToken)] {
            if let text { specialTokens[key] = text }
        }
    }

    /// Reads `path` (a `tokenizer_config.json`).
    /// - Throws: `TokenizerError` naming the file and the key when it cannot be read or a key has the wrong type.
    public init(contentsOf path: String) throws {
        let json = try JSONNode.read(path)
        _ = try json.object()
        func token(_ key: String) throws -> String? {
            let node = json[key]
            if node.isNull { return nil }
            if node.value is String { return try node.string() }
            guard node.value is [String: Any] else { throw node.error("must be a string or {\"content\": ...}, found \(node.kind)") }
            return try node["content"].string()
        }
        for key in ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] {
            if let text = try token(key) { specialTokens[key] = text }
        }
        bosToken = specialTokens["bos_token"]
        eosToken = specialTokens["eos_token"]
        padToken = specialTokens["pad_token"]
        unkToken = specialTokens["unk_token"]
        addBOSToken = json["add_bos_token"].isNull ? nil : try json["add_bos_token"].bool()
        addEOSToken = json["add_eos_token"].isNull ? nil : try json["add_eos_token"].bool()
        let template = json["chat_template"]
        if template.isNull {
            chatTemplate = nil
        } else if template.value is String {
            chatTemplate = try template.string()
        } else {
            var byName: [String: String] = [:]
            for entry in try template.array() {
                let name = try entry["name"].string()
                byName[name] = try entry["template"].string()
                chatTemplateNames.append(name)
            }
            chatTemplate = byName["default"]
        }
        let maxLength = json["model_max_length"]
        if maxLength.isNull {
            modelMaxLength = nil
        } else {
            let d = try maxLength.double()
            modelMaxLength = d >= 1 && d < 1e12 ? Int(d) : nil
        }
    }
}
