import Foundation

/// The `decoder` of a `tokenizer.json`: turns the tokens of ids back into text, a chain of
/// steps over the list of token strings, as the Rust library's decoders are.
indirect enum Decoder: Sendable {
    /// Tokens' byte-level characters back to bytes, then UTF-8 (invalid bytes become U+FFFD).
    case byteLevel
    /// Runs of `<0xNN>` tokens back to the text their bytes spell.
    case byteFallback
    /// All tokens into one.
    case fuse
    /// Removes up to `start` leading and `stop` trailing `content` characters from each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(String, with: String)
    /// `replacement` back to spaces, and the space it put before the text dropped.
    case metaspace(replacement: String, dropsLeadingSpace: Bool)
    case sequence([Decoder])

    static let supported = ["ByteLevel", "ByteFallback", "Fuse", "Strip", "Replace", "Metaspace", "Sequence"]

    init?(json: JSONNode) throws {
        if json.isNull { return nil }
        let type = try json.typeName()
        switch type {
        case "ByteLevel": self = .byteLevel
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = try json["content"].string()
            guard content.unicodeScalars.count == 1 else { throw json["content"].error("must be one character") }
            self = .strip(content: content.unicodeScalars.first!, start: try json["start"].int(), stop: try json["stop"].int())
        case "Replace":
            let pattern = json["pattern"]
            guard let literal = try pattern["String"].optionalString(), !literal.isEmpty else {
                throw pattern.error("must be {\"String\": ...}; regex replacements are not supported")
            }
            self = .replace(literal, with: try json["content"].string())
        case "Metaspace":
            let replacement = try json["replacement"].string()
            let scheme = try json["prepend_scheme"].optionalString()
            let prepends = try scheme.map { $0 != "never" } ?? json["add_prefix_space"].bool(default: true)
            self = .metaspace(replacement: replacement, dropsLeadingSpace: prepends)
        case "Sequence":
            self = .sequence(try json["decoders"].array().compactMap { try Decoder(json: $0) })
        default:
            throw json.unsupported(type, supported: Self.supported)
        }
    }

    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { bytes += ByteLevelAlphabet.decode(t) ?? Array(t.utf8) }
            return [String(decoding: bytes, as: UTF8.self)]
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out += repeatElement("\u{FFFD}", count: pending.count)
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = Self.fallbackByte(t) { pending.append(b); continue }
                flush()
                out.append(t)
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var chars = Substring(token).unicodeScalars[...]
                var n = 0
                while n < start, chars.first == content { chars.removeFirst(); n += 1 }
                n = 0
                while n < stop, chars.last == content { chars.removeLast(); n += 1 }
                return String(String.UnicodeScalarView(chars))
            }
        case .replace(let pattern, let content):
            return tokens.map { $0.replacingOccurrences(of: pattern, with: content, options: .literal) }
        case .metaspace(let replacement, let dropsLeadingSpace):
            return tokens.enumerated().map { i, token in
                let s = token.replacingOccurrences(of: replacement, with: " ", options: .literal)
                return i == 0 && dropsLeadingSpace && s.hasPrefix(" ") ? String(s.dropFirst()) : s
            }
        case .sequence(let steps):
            return steps.reduce(tokens) { $1.decode($0) }
        }
    }

    /// The byte of a `<0xNN>` token.
    static func fallbackByte(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }
}
