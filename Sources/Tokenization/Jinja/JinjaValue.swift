import Foundation

/// A value while rendering, with Python's semantics where they show in the output: `str()` of
/// `None`, `True`, `1.0` and lists; truthiness; `==` across ints and floats; order-keeping dicts.
///
/// Not `Sendable`: a namespace is a shared mutable object (assignments inside a loop must be seen
/// after it), and values live only for one render on one thread.
indirect enum JinjaValue {
    /// jinja2's default Undefined: prints as "", is false, iterates as empty; looking an
    /// attribute up on it is an error. Carries jinja2's message for that error
    /// (`'x' is undefined`, `'dict object' has no attribute 'y'`).
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([JinjaValue])
    /// A tuple prints with parentheses; otherwise it behaves as a list.
    case tuple([JinjaValue])
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    /// A callable: a global (`raise_exception`), a macro or a bound method (`"a".strip`).
    case function(JinjaFunction)
    /// The `loop` variable of a for loop; its fields are computed when looked up.
    case loop(JinjaLoop)

    static func from(_ literal: JinjaExpr.Literal) -> JinjaValue {
        switch literal {
        case .none: .none
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        }
    }

    var isUndefined: Bool { if case .undefined = self { true } else { false } }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.isEmpty
        case .list(let items), .tuple(let items): !items.isEmpty
        case .dict(let dict): !dict.isEmpty
        case .namespace, .function, .loop: true
        }
    }

    /// The elements of an iterable: a list's items, a dict's keys, a string's characters.
    var elements: [JinjaValue]? {
        switch self {
        case .undefined: []
        case .list(let items), .tuple(let items): items
        case .dict(let dict): dict.keys.map { .string($0) }
        case .string(let s): s.unicodeScalars.map { .string(String($0)) }
        default: nil
        }
    }

    /// The name Python gives the type, for error messages.
    var typeName: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .list: "list"
        case .tuple: "tuple"
        case .dict: "dict"
        case .namespace: "Namespace"
        case .function: "function"
        case .loop: "LoopContext"
        }
    }

    // MARK: - Text

    /// Python's `str()`, which `{{ }}` and `~` use.
    var text: String {
        switch self {
        case .undefined: ""
        case .string(let s): s
        default: repr
        }
    }

    /// Python's `repr()`, used for items inside printed lists and dicts.
    var repr: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .double(let d): JinjaValue.pythonFloat(d)
        case .string(let s): JinjaValue.pythonStringRepr(s)
        case .list(let items): "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let items): "(" + items.map(\.repr).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .dict(let dict): "{" + dict.entries.map { JinjaValue.pythonStringRepr($0.key) + ": " + $0.value.repr }.joined(separator: ", ") + "}"
        case .namespace(let ns): "<Namespace " + ns.values.entries.map { "\($0.key)=\($0.value.repr)" }.joined(separator: ", ") + ">"
        case .function(let f): "<function \(f.name)>"
        case .loop(let loop): "<LoopContext \(loop.index + 1)/\(loop.items.count)>"
        }
    }

    /// Python's float repr for the common cases (`1.0`, `0.5`, `1e-05`, `inf`, `nan`).
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    /// Python's `repr()` of a string: single quotes unless the text has one and no double quote.
    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where Character(scalar) == quote: out += "\\" + String(quote)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += String(format: "\\x%02x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + String(quote)
    }

    // MARK: - Comparison

    /// Python `==`: numbers (and bools) by value, containers element by element.
    func isEqual(to other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isEqual(to: $1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count && a.entries.allSatisfy { entry in b[entry.key].map { entry.value.isEqual(to: $0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            if let a = numeric, let b = other.numeric { return a == b }
            return false
        }
    }

    /// The value as a number, for arithmetic and comparison (bools count as 0 and 1, as in Python).
    var numeric: Double? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    var integer: Int? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): i
        default: nil
        }
    }
}

/// A dict that keeps insertion order, as Python's does (and as `tojson` prints it).
struct JinjaDict {
    private(set) var entries: [(key: String, value: JinjaValue)] = []
    private var positions: [String: Int] = [:]

    init(_ pairs: [(String, JinjaValue)] = []) {
        for (key, value) in pairs { self[key] = value }
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var keys: [String] { entries.map(\.key) }

    subscript(key: String) -> JinjaValue? {
        get { positions[key].map { entries[$0].value } }
        set {
            if let index = positions[key] {
                if let newValue { entries[index].value = newValue } else { remove(at: index) }
            } else if let newValue {
                positions[key] = entries.count
                entries.append((key, newValue))
            }
        }
    }

    private mutating func remove(at index: Int) {
        entries.remove(at: index)
        positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
    }
}

/// `namespace()`: the one mutable object templates have, so that a value set inside a loop
/// survives it.
final class JinjaNamespace {
    var values = JinjaDict()
}

/// The state behind a for loop's `loop` variable.
struct JinjaLoop {
    var index: Int
    var items: [JinjaValue]
    var depth: Int

    func field(_ name: String) -> JinjaValue? {
        let count = items.count
        switch name {
        case "index0": return .int(index)
        case "index": return .int(index + 1)
        case "revindex0": return .int(count - index - 1)
        case "revindex": return .int(count - index)
        case "first": return .bool(index == 0)
        case "last": return .bool(index == count - 1)
        case "length": return .int(count)
        case "depth": return .int(depth)
        case "depth0": return .int(depth - 1)
        case "previtem": return index > 0 ? items[index - 1] : .undefined("there is no previous item")
        case "nextitem": return index < count - 1 ? items[index + 1] : .undefined("there is no next item")
        case "cycle":
            let index = index
            return .function(JinjaFunction(name: "loop.cycle") { positional, _, line in
                guard !positional.isEmpty else { throw JinjaError(.runtime, line: line, "no items for cycling given") }
                return positional[index % positional.count]
            })
        default: return nil
        }
    }
}

/// A callable value; `call` gets positional and keyword arguments and the line of the call.
struct JinjaFunction {
    var name: String
    var call: (_ positional: [JinjaValue], _ keyword: [(name: String, value: JinjaValue)], _ line: Int) throws -> JinjaValue
}
