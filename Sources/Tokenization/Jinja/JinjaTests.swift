/// The tests of `x is NAME`, with jinja2's answers (including its quirks: `true is number`,
/// an undefined value `is iterable`).
enum JinjaTests {
    static let names: Set<String> = [
        "defined", "undefined", "none", "true", "false", "boolean", "string", "number", "integer", "float",
        "mapping", "iterable", "sequence", "callable", "equalto", "eq", "==", "ne", "!=", "lt", "<", "le", "<=",
        "gt", ">", "ge", ">=", "in", "odd", "even", "divisibleby", "lower", "upper", "sameas",
    ]

    static func apply(_ name: String, to value: JinjaValue, arguments: [JinjaValue], line: Int) throws -> Bool {
        func other() throws -> JinjaValue {
            guard let first = arguments.first else { throw JinjaError(.runtime, line: line, "test '\(name)' needs an argument") }
            return first
        }
        func order(_ check: (Int) -> Bool) throws -> Bool {
            let right = try other()
            guard let result = JinjaOperators.compare(value, right) else {
                throw JinjaError(.runtime, line: line, "'\(name)' not supported between '\(value.typeName)' and '\(right.typeName)'")
            }
            return check(result)
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "string": if case .string = value { return true } else { return false }
        case "number": return value.numeric != nil
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "mapping": if case .dict = value { return true } else { return false }
        case "callable": if case .function = value { return true } else { return false }
        case "iterable", "sequence": return value.elements != nil
        case "equalto", "eq", "==": return value.isEqual(to: try other())
        case "ne", "!=": return !value.isEqual(to: try other())
        case "sameas":
            let right = try other()
            switch (value, right) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "lt", "<": return try order { $0 < 0 }
        case "le", "<=": return try order { $0 <= 0 }
        case "gt", ">": return try order { $0 > 0 }
        case "ge", ">=": return try order { $0 >= 0 }
        case "in":
            return try JinjaOperators.apply(.contains, value, try other(), line: line, limits: JinjaLimits()).isTruthy
        case "odd", "even", "divisibleby":
            guard let n = value.integer else { throw JinjaError(.runtime, line: line, "test '\(name)' needs an integer") }
            if name == "odd" { return n % 2 != 0 }
            if name == "even" { return n % 2 == 0 }
            guard let d = try other().integer, d != 0 else { throw JinjaError(.runtime, line: line, "divisibleby needs a non-zero integer") }
            return n % d == 0
        case "lower": return value.text == value.text.lowercased()
        default: return value.text == value.text.uppercased()
        }
    }
}
