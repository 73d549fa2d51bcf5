/// What the data path asks of any tokenizer, in this tokenizer's terms.
extension HuggingFaceTokenizer {
    /// The model's unknown token (`model.unk_token`), else the config's `unk_token`, else -1.
    /// Byte-level models have none: every byte has a token.
    public var unkID: Int {
        if let id = model.unkID { return Int(id) }
        return config?.unkToken.flatMap(id(ofToken:)) ?? -1
    }

    /// The token as the file spells it (`Ġword` for " word" in a byte-level vocabulary).
    public func piece(_ id: Int) -> String? { token(id) }

    /// Special added tokens (`<|im_end|>`, `<|begin_of_text|>`) are this tokenizer's control tokens.
    public func isControl(_ id: Int) -> Bool { isSpecial(id) }
}
