/// What `add_special_tokens=True` wraps a single sequence in: the ids before and after it.
///
/// Read from the `post_processor` of `tokenizer.json` (TemplateProcessing, Bert, Roberta,
/// ByteLevel, Sequence), or made from `tokenizer_config.json`'s add_bos_token/add_eos_token when
/// transformers would (Docs/models.md).
struct PostProcessor: Sendable, Equatable {
    var prefix: [Int32] = []
    var suffix: [Int32] = []

    static let supported = ["TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence"]

    init(prefix: [Int32] = [], suffix: [Int32] = []) {
        self.prefix = prefix
        self.suffix = suffix
    }

    /// Reads a `post_processor` value; nil for JSON null.
    init?(json: JSONNode) throws {
        if json.isNull { return nil }
        let type = try json.typeName()
        switch type {
        case "ByteLevel":
            break  // only trims offsets, which ids do not carry
        case "Sequence":
            for step in try json["processors"].array() {
                if let p = try PostProcessor(json: step) {
                    prefix = p.prefix + prefix
                    suffix += p.suffix
                }
            }
        case "BertProcessing", "RobertaProcessing":
            func id(_ node: JSONNode) throws -> Int32 {
                let pair = try node.array()
                guard pair.count == 2 else { throw node.error("must be [token, id]") }
                return Int32(try pair[1].int())
            }
            prefix = [try id(json["cls"])]
            suffix = [try id(json["sep"])]
        case "TemplateProcessing":
            let specials = json["special_tokens"]
            var seenSequence = false
            for piece in try json["single"].array() {
                if !piece["Sequence"].isNull {
                    let which = try piece["Sequence"]["id"].string()
                    guard which == "A" else { throw piece["Sequence"]["id"].error("is \"\(which)\"; a single sequence is A") }
                    seenSequence = true
                    continue
                }
                guard !piece["SpecialToken"].isNull else { throw piece.error("must be {\"SpecialToken\": ...} or {\"Sequence\": ...}") }
                let name = try piece["SpecialToken"]["id"].string()
                let entry = specials[name]
                guard !entry.isNull else { throw piece["SpecialToken"]["id"].error("names \"\(name)\", which is not in \(specials.path)") }
                let ids = try entry["ids"].array().map { node -> Int32 in
                    let id = try node.int()
                    guard id >= 0 && id < Int(Int32.max) else { throw node.error("is \(id), not a token id") }
                    return Int32(id)
                }
                if seenSequence { suffix += ids } else { prefix += ids }
            }
            guard seenSequence else { throw json["single"].error("has no {\"Sequence\": {\"id\": \"A\"}}") }
        default:
            throw json.unsupported(type, supported: Self.supported)
        }
    }

    /// All ids the wrapping adds, for range checks.
    var ids: [Int32] { prefix + suffix }
}
