/// The `pre_tokenizer` of a `tokenizer.json`: cuts normalized text (UTF-8) into the words BPE
/// sees. Pieces are slices of their text's bytes, so splitting does not copy.
indirect enum PreTokenizer: Sendable {
    /// GPT-2's: an optional leading space, then (with `useRegex`) the GPT-2 split. The mapping
    /// of bytes to the byte-level alphabet is done by the model, which reads bytes directly.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(SplitRule, behavior: SplitBehavior, invert: Bool)
    /// Numbers apart from the rest: each digit alone, or each run of digits.
    case digits(individual: Bool)
    /// SentencePiece's: spaces become `replacement`, which may also lead the text, and
    /// optionally starts each word.
    case metaspace(replacement: [UInt8], prepend: MetaspacePrepend, split: Bool)
    case sequence([PreTokenizer])

    static let supported = ["ByteLevel", "Split", "Digits", "Metaspace", "Sequence"]

    /// Reads a `pre_tokenizer` value; nil for JSON null.
    init?(json: JSONNode) throws {
        if json.isNull { return nil }
        let type = try json.typeName()
        switch type {
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try json["add_prefix_space"].bool(default: true),
                              useRegex: try json["use_regex"].bool(default: true))
        case "Split":
            let pattern = json["pattern"]
            let rule: SplitRule
            if let regex = try pattern["Regex"].optionalString() {
                guard let known = SplitPattern(regex: regex) else {
                    throw TokenizerError("\(json.file): \(pattern.path).Regex \"\(regex)\" is not a supported split pattern (supported: the GPT-2, Llama 3 and Qwen2 patterns)")
                }
                rule = .pattern(known)
            } else if let literal = try pattern["String"].optionalString() {
                guard !literal.isEmpty else { throw pattern["String"].error("must not be empty") }
                rule = .literal(Array(literal.utf8))
            } else {
                throw pattern.error("must be {\"Regex\": ...} or {\"String\": ...}")
            }
            let behaviorNode = json["behavior"]
            let behaviorName = try behaviorNode.string()
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw behaviorNode.error("\"\(behaviorName)\" is not a split behavior (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)")
            }
            self = .split(rule, behavior: behavior, invert: try json["invert"].bool(default: false))
        case "Digits":
            self = .digits(individual: try json["individual_digits"].bool(default: false))
        case "Metaspace":
            let replacement = try json["replacement"].string()
            guard replacement.unicodeScalars.count == 1 else { throw json["replacement"].error("must be one character") }
            let prepend: MetaspacePrepend
            if let scheme = try json["prepend_scheme"].optionalString() {
                guard let p = MetaspacePrepend(rawValue: scheme) else {
                    throw json["prepend_scheme"].error("\"\(scheme)\" is not one of always, first, never")
                }
                prepend = p
            } else {
                prepend = try json["add_prefix_space"].bool(default: true) ? .always : .never
            }
            self = .metaspace(replacement: Array(replacement.utf8), prepend: prepend, split: try json["split"].bool(default: true))
        case "Sequence":
            let steps = try json["pretokenizers"].array()
            let parsed = try steps.compactMap { try PreTokenizer(json: $0) }
            // The model maps bytes to the byte-level alphabet after all splitting; a step after
            // ByteLevel would have seen alphabet characters instead of text.
            if let at = parsed.dropLast().firstIndex(where: \.containsByteLevel) {
                throw steps[at].error("is ByteLevel, which is only supported as the last pre-tokenizer")
            }
            self = .sequence(parsed)
        default:
            throw json.unsupported(type, supported: Self.supported)
        }
    }

    /// Whether BPE must map each byte to the byte-level alphabet.
    var containsByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let steps): return steps.contains { $0.containsByteLevel }
        default: return false
        }
    }

    /// Splits `pieces`; `startsText` says whether the first piece begins the input text
    /// (where Metaspace's "first" scheme prepends).
    func apply(_ pieces: [ArraySlice<UInt8>], startsText: Bool) -> [ArraySlice<UInt8>] {
        if case .sequence(let steps) = self {
            return steps.reduce(pieces) { $1.apply($0, startsText: startsText) }
        }
        var out: [ArraySlice<UInt8>] = []
        out.reserveCapacity(pieces.count * 4)
        for (n, piece) in pieces.enumerated() { split(piece, first: startsText && n == 0, into: &out) }
        return out
    }

    private func split(_ piece: ArraySlice<UInt8>, first: Bool, into out: inout [ArraySlice<UInt8>]) {
        switch self {
        case .byteLevel(let addPrefixSpace, let useRegex):
            let text = addPrefixSpace && piece.first != 0x20 ? ArraySlice([0x20] + piece) : piece
            if useRegex {
                SplitBehavior.isolated.apply(SplitRule.pattern(.gpt2).matches(text), invert: false, in: text, into: &out)
            } else if !text.isEmpty {
                out.append(text)
            }
        case .split(let rule, let behavior, let invert):
            behavior.apply(rule.matches(piece), invert: invert, in: piece, into: &out)
        case .digits(let individual):
            let numbers = SplitRule.numberMatches(piece)
            (individual ? SplitBehavior.isolated : .contiguous).apply(numbers, invert: false, in: piece, into: &out)
        case .metaspace(let replacement, let prepend, let split):
            var text: [UInt8] = []
            text.reserveCapacity(piece.count + replacement.count)
            let starts = piece.starts(with: [0x20])
            if (prepend == .always || (prepend == .first && first)) && !starts && !piece.starts(with: replacement) {
                text += replacement
            }
            for b in piece { if b == 0x20 { text += replacement } else { text.append(b) } }
            let slice = ArraySlice(text)
            if split {
                SplitBehavior.mergedWithNext.apply(SplitRule.literal(replacement).matches(slice), invert: false, in: slice, into: &out)
            } else if !slice.isEmpty {
                out.append(slice)
            }
        case .sequence:
            out += apply([piece], startsText: first)
        }
    }
}

enum MetaspacePrepend: String, Sendable { case always, first, never }
