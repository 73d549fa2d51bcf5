import Foundation

/// A JSON document parsed with every number exact.
///
/// Foundation's `JSONSerialization` on Linux reads numbers of 17 significant digits (what it
/// writes for most doubles) to a neighbouring double, so a `trainer_state.json` read back lost
/// the last bits of its log history and best metric. `JSONDecoder` reads them exactly; this
/// turns its values into the Foundation objects (`NSNumber`, `NSNull`, `[String: Any]`, ...)
/// that `JSONSerialization` would have given.
enum ExactJSON: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ExactJSON])
    case object([String: ExactJSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([ExactJSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: ExactJSON].self))
        }
    }

    /// Parses `data` and returns its top-level value as Foundation objects; nil when it is not JSON.
    static func foundationObject(from data: Data) -> Any? {
        (try? JSONDecoder().decode(ExactJSON.self, from: data))?.foundation
    }

    /// The value as `JSONSerialization` types it: numbers as `NSNumber`, booleans as `Bool`.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let n): return NSNumber(value: n)
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }
}
