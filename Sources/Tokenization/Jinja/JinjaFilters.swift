/// The filters chat templates use, with jinja2's behaviour, and transformers' `tojson` (no HTML
/// escaping, non-ASCII kept, `indent` as in Python's `json.dumps`).
enum JinjaFilters {
    static let names: Set<String> = [
        "abs", "capitalize", "count", "d", "default", "first", "float", "int", "items", "join", "last", "length",
        "list", "lower", "map", "reject", "rejectattr", "replace", "reverse", "safe", "select", "selectattr",
        "string", "title", "tojson", "trim", "upper",
    ]

    static func apply(_ name: String, to value: JinjaValue, positional: [JinjaValue],
                      keyword: [(name: String, value: JinjaValue)], line: Int, limits: JinjaLimits) throws -> JinjaValue {
        func argument(_ index: Int, _ label: String) -> JinjaValue? {
            if index < positional.count { return positional[index] }
            return keyword.first { $0.name == label }?.value
        }
        func elements() throws -> [JinjaValue] {
            guard let items = value.elements else { throw JinjaError(.runtime, line: line, "'\(value.typeName)' object is not iterable") }
            return items
        }
        switch name {
        case "abs":
            if case .double(let d) = value { return .double(Swift.abs(d)) }
            guard let n = value.integer, n != .min else { throw JinjaError(.runtime, line: line, "bad operand type for abs(): '\(value.typeName)'") }
            return .int(Swift.abs(n))
        case "capitalize": return .string(PythonString.capitalize(value.text))
        case "title": return .string(PythonString.title(value.text))
        case "upper": return .string(value.text.uppercased())
        case "lower": return .string(value.text.lowercased())
        case "trim":
            var chars: String?
            if case .string(let c)? = argument(0, "chars") { chars = c }
            return .string(PythonString.strip(value.text, chars, leading: true, trailing: true))
        case "string": return .string(value.text)
        case "safe": return value
        case "count", "length":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let items), .tuple(let items): return .int(items.count)
            case .dict(let dict): return .int(dict.count)
            default: throw JinjaError(.runtime, line: line, "object of type '\(value.typeName)' has no len()")
            }
        case "d", "default":
            let fallback = argument(0, "default_value") ?? .string("")
            let boolean = argument(1, "boolean")?.isTruthy ?? false
            return value.isUndefined || (boolean && !value.isTruthy) ? fallback : value
        case "first":
            return try elements().first ?? .undefined("No first item, sequence was empty.")
        case "last":
            return try elements().last ?? .undefined("No last item, sequence was empty.")
        case "list": return .list(try elements())
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try elements().reversed())
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let dict): return .list(dict.entries.map { .tuple([.string($0.key), $0.value]) })
            default: throw JinjaError(.runtime, line: line, "can only get item pairs from a mapping")
            }
        case "join":
            let separator = argument(0, "d")?.text ?? ""
            var items = try elements()
            if let attribute = argument(1, "attribute") {
                items = try items.map { try JinjaMethods.attribute($0, attribute.text, line: line) }
            }
            let text = items.map(\.text).joined(separator: separator)
            if text.unicodeScalars.count > limits.maxOutput { throw JinjaError(.limit, line: line, "a string longer than \(limits.maxOutput) characters") }
            return .string(text)
        case "int":
            let fallback = argument(0, "default") ?? .int(0)
            switch value {
            case .int, .bool: return .int(value.integer!)
            case .double(let d): return d.isFinite && Swift.abs(d) < 9e18 ? .int(Int(d)) : fallback
            case .string(let s):
                let trimmed = PythonString.strip(s, nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
                if let n = Int(trimmed) { return .int(n) }
                if let d = Double(trimmed), d.isFinite, Swift.abs(d) < 9e18 { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = argument(0, "default") ?? .double(0)
            if let d = value.numeric { return .double(d) }
            if case .string(let s) = value, let d = Double(PythonString.strip(s, nil, leading: true, trailing: true)) { return .double(d) }
            return fallback
        case "replace":
            guard case .string(let old)? = argument(0, "old"), case .string(let new)? = argument(1, "new") else {
                throw JinjaError(.runtime, line: line, "replace expects two strings")
            }
            let result = PythonString.replace(value.text, old, new, count: argument(2, "count")?.integer ?? -1)
            if result.unicodeScalars.count > limits.maxOutput { throw JinjaError(.limit, line: line, "a string longer than \(limits.maxOutput) characters") }
            return .string(result)
        case "tojson":
            var indent: Int?
            if let given = keyword.first(where: { $0.name == "indent" })?.value ?? positional.dropFirst().first, !given.isUndefined {
                if case .none = given {} else { indent = given.integer }
            }
            let sortKeys = keyword.first { $0.name == "sort_keys" }?.value.isTruthy ?? false
            return .string(try JinjaJSON.encode(value, indent: indent, sortKeys: sortKeys, line: line))
        case "map":
            let items = try elements()
            if let attribute = keyword.first(where: { $0.name == "attribute" })?.value {
                let fallback = keyword.first { $0.name == "default" }?.value
                return .list(try items.map { item in
                    let found = try JinjaMethods.attribute(item, attribute.text, line: line)
                    return found.isUndefined ? fallback ?? found : found
                })
            }
            guard case .string(let filter)? = positional.first, names.contains(filter) else {
                throw JinjaError(.unsupported, line: line, "map() needs attribute= or the name of a known filter")
            }
            return .list(try items.map {
                try apply(filter, to: $0, positional: Array(positional.dropFirst()), keyword: [], line: line, limits: limits)
            })
        case "select", "reject":
            let items = try elements()
            return .list(try items.filter { item in
                try passes(item, positional, line: line) == (name == "select")
            })
        default:  // selectattr, rejectattr
            guard case .string(let attribute)? = positional.first else {
                throw JinjaError(.runtime, line: line, "\(name) needs an attribute name")
            }
            let items = try elements()
            return .list(try items.filter { item in
                let field = try attributePath(item, attribute, line: line)
                return try passes(field, Array(positional.dropFirst()), line: line) == (name == "selectattr")
            })
        }
    }

    /// Whether `value` passes the test named first in `arguments` (truthiness when none is named).
    private static func passes(_ value: JinjaValue, _ arguments: [JinjaValue], line: Int) throws -> Bool {
        guard case .string(let test)? = arguments.first else { return value.isTruthy }
        guard JinjaTests.names.contains(test) else { throw JinjaError(.unsupported, line: line, "unknown test '\(test)'") }
        return try JinjaTests.apply(test, to: value, arguments: Array(arguments.dropFirst()), line: line)
    }

    /// jinja2's dotted attribute lookup for filters (`selectattr("function.name")`).
    private static func attributePath(_ value: JinjaValue, _ path: String, line: Int) throws -> JinjaValue {
        var current = value
        for part in path.split(separator: ".") {
            if case .undefined = current { return current }
            current = try JinjaMethods.item(current, Int(part).map(JinjaValue.int) ?? .string(String(part)), line: line)
        }
        return current
    }
}
