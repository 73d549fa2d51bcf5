/// Attribute and item lookup, slicing, and the Python methods chat templates call on strings
/// (`strip`, `split`, `startswith`, ...), dicts (`items`, `get`, `keys`, `values`) and lists.
///
/// Lookup follows jinja2's sandbox: `a.b` tries the Python attribute first (so `d.items` is the
/// method even when the dict has an "items" key) then the item; `a["b"]` the item first. A
/// missing attribute or item is Undefined; looking anything up on Undefined is an error.
enum JinjaMethods {
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "startswith", "endswith", "upper", "lower", "title",
        "capitalize", "replace", "find", "count", "join", "isdigit", "isspace",
    ]
    static let dictMethods: Set<String> = ["items", "keys", "values", "get"]

    static func attribute(_ base: JinjaValue, _ name: String, line: Int) throws -> JinjaValue {
        switch base {
        case .undefined(let message):
            throw JinjaError(.runtime, line: line, message)
        case .dict(let dict):
            if dictMethods.contains(name) { return boundMethod(base, name) }
            return dict[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let namespace):
            return namespace.values[name] ?? .undefined("'Namespace' object has no attribute '\(name)'")
        case .loop(let loop):
            return loop.field(name) ?? .undefined("'LoopContext' object has no attribute '\(name)'")
        case .string:
            if stringMethods.contains(name) { return boundMethod(base, name) }
            return .undefined("'str object' has no attribute '\(name)'")
        default:
            return .undefined("'\(base.typeName) object' has no attribute '\(name)'")
        }
    }

    static func item(_ base: JinjaValue, _ key: JinjaValue, line: Int) throws -> JinjaValue {
        switch (base, key) {
        case (.undefined(let message), _):
            throw JinjaError(.runtime, line: line, message)
        case (.dict(let dict), .string(let name)):
            return dict[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case (.list(let items), _), (.tuple(let items), _):
            guard let index = key.integer else { return .undefined("'\(base.typeName) object' has no attribute \(key.repr)") }
            let position = index < 0 ? index + items.count : index
            return items.indices.contains(position) ? items[position] : .undefined("\(base.typeName) object has no element \(index)")
        case (.string(let text), _):
            guard let index = key.integer else { return .undefined("'str object' has no attribute \(key.repr)") }
            let scalars = Array(text.unicodeScalars)
            let position = index < 0 ? index + scalars.count : index
            return scalars.indices.contains(position) ? .string(String(scalars[position])) : .undefined("str object has no element \(index)")
        case (.namespace, .string(let name)):
            return try attribute(base, name, line: line)
        default:
            return .undefined("'\(base.typeName) object' has no attribute \(key.repr)")
        }
    }

    /// Python's `seq[start:stop:step]` on lists, tuples and strings.
    static func slice(_ base: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?, line: Int) throws -> JinjaValue {
        func bound(_ value: JinjaValue?) throws -> Int? {
            guard let value, !isNone(value) else { return nil }
            guard let int = value.integer else { throw JinjaError(.runtime, line: line, "slice indices must be integers or None") }
            return int
        }
        let stride = try bound(step) ?? 1
        if stride == 0 { throw JinjaError(.runtime, line: line, "slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            func clamp(_ value: Int?, _ fallback: Int, _ low: Int, _ high: Int) -> Int {
                guard var v = value else { return fallback }
                if v < 0 { v += count }
                return min(max(v, low), high)
            }
            let first = stride > 0 ? clamp(try bound(start), 0, 0, count) : clamp(try bound(start), count - 1, -1, count - 1)
            let end = stride > 0 ? clamp(try bound(stop), count, 0, count) : clamp(try bound(stop), -1, -1, count - 1)
            return Array(Swift.stride(from: first, to: end, by: stride))
        }
        switch base {
        case .undefined(let message): throw JinjaError(.runtime, line: line, message)
        case .list(let items): return .list(try indices(items.count).map { items[$0] })
        case .tuple(let items): return .tuple(try indices(items.count).map { items[$0] })
        case .string(let text):
            let scalars = Array(text.unicodeScalars)
            return .string(String(String.UnicodeScalarView(try indices(scalars.count).map { scalars[$0] })))
        default: throw JinjaError(.runtime, line: line, "'\(base.typeName)' object is not subscriptable")
        }
    }

    private static func isNone(_ value: JinjaValue) -> Bool { if case .none = value { true } else { false } }

    private static func boundMethod(_ receiver: JinjaValue, _ name: String) -> JinjaValue {
        .function(JinjaFunction(name: "\(receiver.typeName).\(name)") { positional, keyword, line in
            try call(receiver, name, positional, keyword, line: line)
        })
    }

    private static func call(_ receiver: JinjaValue, _ name: String, _ positional: [JinjaValue],
                             _ keyword: [(name: String, value: JinjaValue)], line: Int) throws -> JinjaValue {
        func argument(_ index: Int, _ label: String) -> JinjaValue? {
            if index < positional.count { return positional[index] }
            return keyword.first { $0.name == label }?.value
        }
        func string(_ index: Int, _ label: String) throws -> String? {
            guard let value = argument(index, label), !isNone(value) else { return nil }
            guard case .string(let text) = value else {
                throw JinjaError(.runtime, line: line, "\(name)() argument must be str, not \(value.typeName)")
            }
            return text
        }
        switch receiver {
        case .dict(let dict):
            switch name {
            case "items": return .list(dict.entries.map { .tuple([.string($0.key), $0.value]) })
            case "keys": return .list(dict.keys.map { .string($0) })
            case "values": return .list(dict.entries.map(\.value))
            default:
                guard case .string(let key)? = argument(0, "key") else { return argument(1, "default") ?? .none }
                return dict[key] ?? argument(1, "default") ?? .none
            }
        case .string(let text):
            switch name {
            case "strip": return .string(PythonString.strip(text, try string(0, "chars"), leading: true, trailing: true))
            case "lstrip": return .string(PythonString.strip(text, try string(0, "chars"), leading: true, trailing: false))
            case "rstrip": return .string(PythonString.strip(text, try string(0, "chars"), leading: false, trailing: true))
            case "split":
                let limit = argument(1, "maxsplit")?.integer ?? -1
                let separator = try string(0, "sep")
                if separator == "" { throw JinjaError(.runtime, line: line, "empty separator") }
                return .list(PythonString.split(text, separator, maxSplit: limit).map { .string($0) })
            case "startswith", "endswith":
                let candidates: [JinjaValue]
                switch argument(0, "prefix") {
                case .string?: candidates = [argument(0, "prefix")!]
                case .tuple(let items)?, .list(let items)?: candidates = items
                default: throw JinjaError(.runtime, line: line, "\(name)() takes a string or a tuple of strings")
                }
                let scalars = Array(text.unicodeScalars)
                return .bool(candidates.contains { candidate in
                    guard case .string(let affix) = candidate else { return false }
                    let a = Array(affix.unicodeScalars)
                    return name == "startswith" ? scalars.starts(with: a) : scalars.reversed().starts(with: a.reversed())
                })
            case "upper": return .string(text.uppercased())
            case "lower": return .string(text.lowercased())
            case "title": return .string(PythonString.title(text))
            case "capitalize": return .string(PythonString.capitalize(text))
            case "replace":
                guard let old = try string(0, "old"), let new = try string(1, "new") else {
                    throw JinjaError(.runtime, line: line, "replace() takes two strings")
                }
                return .string(PythonString.replace(text, old, new, count: argument(2, "count")?.integer ?? -1))
            case "find":
                guard let needle = try string(0, "sub") else { throw JinjaError(.runtime, line: line, "find() takes a string") }
                return .int(PythonString.find(text, needle) ?? -1)
            case "count":
                guard let needle = try string(0, "sub") else { throw JinjaError(.runtime, line: line, "count() takes a string") }
                return .int(PythonString.count(text, needle))
            case "join":
                guard let items = argument(0, "iterable")?.elements else { throw JinjaError(.runtime, line: line, "join() takes an iterable") }
                return .string(try items.map { item in
                    guard case .string(let s) = item else {
                        throw JinjaError(.runtime, line: line, "sequence item: expected str instance, \(item.typeName) found")
                    }
                    return s
                }.joined(separator: text))
            case "isdigit": return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
            default: return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy(\.isPythonSpace))
            }
        default:
            throw JinjaError(.unsupported, line: line, "'\(receiver.typeName)' method '\(name)' is not supported")
        }
    }
}

/// Python's `str` operations on Unicode scalars (Python indexes code points, not graphemes).
enum PythonString {
    static func strip(_ text: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func drop(_ scalar: Unicode.Scalar) -> Bool { set?.contains(scalar) ?? scalar.isPythonSpace }
        var scalars = Array(text.unicodeScalars)[...]
        if leading { while let first = scalars.first, drop(first) { scalars.removeFirst() } }
        if trailing { while let last = scalars.last, drop(last) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    static func split(_ text: String, _ separator: String?, maxSplit: Int) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var parts: [String] = []
        func piece(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[range])) }
        guard let separator else {
            var i = 0
            while i < scalars.count {
                while i < scalars.count, scalars[i].isPythonSpace { i += 1 }
                guard i < scalars.count else { break }
                if maxSplit >= 0, parts.count == maxSplit {
                    parts.append(strip(piece(i..<scalars.count), nil, leading: false, trailing: true))
                    break
                }
                let start = i
                while i < scalars.count, !scalars[i].isPythonSpace { i += 1 }
                parts.append(piece(start..<i))
            }
            return parts
        }
        let sep = Array(separator.unicodeScalars)
        var start = 0
        var i = 0
        while i + sep.count <= scalars.count, maxSplit < 0 || parts.count < maxSplit {
            if Array(scalars[i..<(i + sep.count)]) == sep {
                parts.append(piece(start..<i))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(piece(start..<scalars.count))
        return parts
    }

    static func find(_ text: String, _ needle: String) -> Int? {
        let scalars = Array(text.unicodeScalars), n = Array(needle.unicodeScalars)
        guard n.count <= scalars.count else { return nil }
        return (0...(scalars.count - n.count)).first { Array(scalars[$0..<($0 + n.count)]) == n }
    }

    static func count(_ text: String, _ needle: String) -> Int {
        let n = needle.unicodeScalars.count
        if n == 0 { return text.unicodeScalars.count + 1 }
        return split(text, needle, maxSplit: -1).count - 1
    }

    static func replace(_ text: String, _ old: String, _ new: String, count: Int) -> String {
        if old.isEmpty {
            // Python inserts `new` between every character (and at both ends).
            var out = count == 0 ? "" : new
            var done = count == 0 ? 0 : 1
            for scalar in text.unicodeScalars {
                out.unicodeScalars.append(scalar)
                if count < 0 || done < count { out += new; done += 1 }
            }
            return out
        }
        return split(text, old, maxSplit: count).joined(separator: new)
    }

    static func title(_ text: String) -> String {
        var out = ""
        var previousCased = false
        for scalar in text.unicodeScalars {
            let cased = scalar.properties.isCased
            out += previousCased ? String(scalar).lowercased() : String(scalar).uppercased()
            previousCased = cased
        }
        return out
    }

    static func capitalize(_ text: String) -> String {
        guard let first = text.unicodeScalars.first else { return "" }
        return String(first).uppercased() + String(String.UnicodeScalarView(text.unicodeScalars.dropFirst())).lowercased()
    }
}
