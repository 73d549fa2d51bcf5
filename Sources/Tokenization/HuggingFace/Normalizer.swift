import Foundation

/// The `normalizer` of a `tokenizer.json`: rewrites text before it is split, as the Rust
/// library does (the families here use none, NFC, or Llama 2's Prepend + Replace).
indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case prepend(String)
    /// A literal replacement (the JSON's `{"String": ...}` pattern).
    case replace(String, with: String)
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    static let supported = ["NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Prepend", "Replace", "Strip", "Sequence"]

    /// Reads a `normalizer` value; nil for JSON null.
    init?(json: JSONNode) throws {
        if json.isNull { return nil }
        let type = try json.typeName()
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Prepend": self = .prepend(try json["prepend"].string())
        case "Replace":
            let pattern = json["pattern"]
            guard let literal = try pattern["String"].optionalString() else {
                throw pattern.error("must be {\"String\": ...}; regex replacements are not supported")
            }
            guard !literal.isEmpty else { throw pattern["String"].error("must not be empty") }
            self = .replace(literal, with: try json["content"].string())
        case "Strip":
            self = .strip(left: try json["strip_left"].bool(default: true), right: try json["strip_right"].bool(default: true))
        case "Sequence":
            self = .sequence(try json["normalizers"].array().compactMap { try Normalizer(json: $0) })
        default:
            throw json.unsupported(type, supported: Self.supported)
        }
    }

    /// True when normalizing cannot change pure ASCII text (so ASCII skips the Unicode work).
    var isIdentityOnASCII: Bool {
        switch self {
        case .nfc, .nfd, .nfkc, .nfkd: return true
        case .sequence(let parts): return parts.allSatisfy(\.isIdentityOnASCII)
        default: return false
        }
    }

    /// UTF-8 `text` normalized. Prepend applies to each non-empty piece between added tokens,
    /// as in the Rust library. Literal rewrites work on the bytes (UTF-8 is self-synchronizing,
    /// so a byte match is a character match); the Unicode forms go through Foundation.
    func apply(_ text: [UInt8]) -> [UInt8] {
        func viaString(_ f: (String) -> String) -> [UInt8] { Array(f(String(decoding: text, as: UTF8.self)).utf8) }
        switch self {
        case .nfc: return viaString { $0.precomposedStringWithCanonicalMapping }
        case .nfd: return viaString { $0.decomposedStringWithCanonicalMapping }
        case .nfkc: return viaString { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd: return viaString { $0.decomposedStringWithCompatibilityMapping }
        case .lowercase: return viaString { $0.lowercased() }
        case .prepend(let p): return text.isEmpty ? text : Array(p.utf8) + text
        case .replace(let pattern, let content):
            let needle = Array(pattern.utf8), with = Array(content.utf8)
            var out: [UInt8] = []
            out.reserveCapacity(text.count + text.count / 4)
            var i = 0
            while i < text.count {
                if text[i] == needle[0] && i + needle.count <= text.count && text[i ..< i + needle.count].elementsEqual(needle) {
                    out += with
                    i += needle.count
                } else {
                    out.append(text[i])
                    i += 1
                }
            }
            return out
        case .strip(let left, let right):
            return viaString { text in
                var scalars = Substring(text).unicodeScalars[...]
                if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
                if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
                return String(String.UnicodeScalarView(scalars))
            }
        case .sequence(let parts):
            return parts.reduce(text) { $1.apply($0) }
        }
    }
}
