import Foundation

/// Text and numbers as they go into the report's HTML: everything that comes from a run (decoded
/// tokens, prompts, metric names, labels) passes through `escape`, so a token such as
/// `<script>` is shown, never run. Numbers go through `number`, so a NaN or an infinity is the
/// word "nan" or "inf" and never reaches an SVG coordinate.
enum HTMLText {
    /// `text` with the five characters that mean something in HTML (and in attribute values)
    /// replaced by character references. Control characters other than tab and newline, which
    /// XML forbids and browsers show as boxes, become U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            case "\r": out += "&#13;"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0xFFFE...0xFFFF).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A figure for people: four significant digits, "nan" / "inf" / "-inf" when not finite.
    static func number(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded(), abs(v) < 1e7 { return String(Int(v)) }
        let a = abs(v)
        if a >= 1e-3 && a < 1e5 {
            // %g drops trailing zeros; 4 significant digits are enough to read a curve's value.
            return String(format: "%.4g", v)
        }
        return String(format: "%.3e", v)
    }

    /// A coordinate inside an SVG: one decimal. Callers only pass finite values; anything else
    /// becomes 0 so that a bug shows as a wrong point, never as a path the browser refuses.
    static func coordinate(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        return String(format: "%.1f", v)
    }
}
