import Foundation

/// How values appear in error messages, so every message of the data and training modules reads
/// alike.
public enum MessageText {
    /// `s` in double quotes, with quotes, backslashes and control characters escaped, cut after
    /// `limit` characters.
    public static func quoted(_ s: String, limit: Int = 40) -> String {
        let cut = s.count > limit ? String(s.prefix(limit)) + "..." : s
        var out = "\""
        for c in cut.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 { out += String(format: "\\x%02X", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
