import Foundation
/// A parsed JSON value. The readers parse JSON themselves (see `JSONParser`) so that every record
/// knows the line it starts on and every type mismatch can be named precisely.
indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// How an error message names what was found: `string "bot"`, `number 3`, `null`, `array`.
    var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "boolean \(b)"
        case .number(let n): return "number \(n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n))"
        case .string(let s): return s.isEmpty ? "an empty string" : "string \(JSONValue.quoted(s))"
        case .array(let a): return "an array of \(a.count)"
        case .object(let o): return "an object with fields \(o.keys.sorted().joined(separator: ", "))"
        }
    }

    /// A string shown in an error, cut to a readable length.
    static func quoted(_ s: String, limit: Int = 40) -> String { MessageText.quoted(s, limit: limit) }
}
