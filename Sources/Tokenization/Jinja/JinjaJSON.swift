import Foundation

/// Python's `json.dumps(value, ensure_ascii=False, indent=...)`, which transformers installs as
/// the `tojson` filter: `", "` and `": "` between items without an indent, `","` and newlines
/// with one; non-ASCII characters kept; dicts in insertion order unless `sort_keys`.
enum JinjaJSON {
    static func encode(_ value: JinjaValue, indent: Int?, sortKeys: Bool, line: Int) throws -> String {
        var out = ""
        try write(value, indent: indent, level: 0, sortKeys: sortKeys, line: line, to: &out)
        return out
    }

    private static func write(_ value: JinjaValue, indent: Int?, level: Int, sortKeys: Bool, line: Int, to out: inout String) throws {
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : JinjaValue.pythonFloat(d)
        case .string(let s): out += quoted(s)
        case .list(let items), .tuple(let items):
            try container("[", "]", items.count, indent: indent, level: level, to: &out) { index, out in
                try write(items[index], indent: indent, level: level + 1, sortKeys: sortKeys, line: line, to: &out)
            }
        case .dict(let dict):
            var entries = dict.entries
            if sortKeys { entries.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } }
            try container("{", "}", entries.count, indent: indent, level: level, to: &out) { index, out in
                out += quoted(entries[index].key) + ": "
                try write(entries[index].value, indent: indent, level: level + 1, sortKeys: sortKeys, line: line, to: &out)
            }
        default:
            throw JinjaError(.runtime, line: line, "Object of type \(value.typeName) is not JSON serializable")
        }
    }

    private static func container(_ open: String, _ close: String, _ count: Int, indent: Int?, level: Int,
                                  to out: inout String, item: (Int, inout String) throws -> Void) throws {
        guard count > 0 else { out += open + close; return }
        out += open
        let inner = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        for index in 0..<count {
            if index > 0 { out += indent == nil ? ", " : "," }
            if let inner { out += inner }
            try item(index, &out)
        }
        if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
        out += close
    }

    private static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
