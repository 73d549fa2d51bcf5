import Yams

/// Collects the faults of one file while it is read (topology and pipeline files), so that several are reported at once.
public final class Diagnostics {
    public let file: String
    public private(set) var errors: [TopologyError] = []

    public init(file: String) { self.file = file }

    /// Records a fault at `node` (its line and column), for the dotted `key`.
    public func add(_ code: TopologyError.Code, at node: Node?, key: String, _ message: String) {
        let mark = node?.mark
        errors.append(TopologyError(code, file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, key: key, message))
    }

    /// Records faults found elsewhere (the validator's).
    public func append(_ more: [TopologyError]) { errors += more }
}

/// A YAML mapping being read: typed getters that record a fault (with the value's line) and
/// return nil instead of throwing, so one pass reports every bad key.
public struct YAMLMapping {
    /// The mapping node itself (for faults about the section as a whole).
    public let node: Node
    /// Dotted path of this mapping, e.g. `roles.actor`; empty at the top level.
    public let path: String
    public let diagnostics: Diagnostics
    /// Key name -> (key node, value node), first occurrence.
    private var entries: [String: (key: Node, value: Node)] = [:]
    /// Key names in file order.
    public private(set) var keys: [String] = []

    /// Reads `node` as a mapping, recording a fault (and returning nil) when it is not one.
    /// The top-level mapping of a YAML document (a topology or pipeline file).
    /// - Parameter needs: what an empty file lacks, for its message ("at least models and data").
    /// - Throws: `TopologyErrors` for text that is not YAML, an empty file, or a top level that is
    ///   not a mapping.
    public static func document(_ text: String, file: String, diagnostics: Diagnostics, needs: String) throws -> YAMLMapping {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw TopologyErrors([TopologyError(.syntax, file: file, "not valid YAML: \(error)")])
        }
        guard let root else { throw TopologyErrors([TopologyError(.missing, file: file, "the file is empty; \(needs)")]) }
        guard let top = YAMLMapping(root, path: "", diagnostics: diagnostics) else { throw TopologyErrors(diagnostics.errors) }
        return top
    }

    public init?(_ node: Node, path: String, diagnostics: Diagnostics) {
        guard let mapping = node.mapping else {
            diagnostics.add(.wrongType, at: node, key: path, "expected a mapping of keys to values, got \(describe(node))")
            return nil
        }
        self.node = node
        self.path = path
        self.diagnostics = diagnostics
        for (keyNode, valueNode) in mapping {
            guard let name = keyNode.scalar?.string else {
                diagnostics.add(.syntax, at: keyNode, key: path, "keys must be plain names")
                continue
            }
            if let first = entries[name] {
                diagnostics.add(.duplicateKey, at: keyNode, key: join(name), "given twice (first at line \(first.key.mark?.line ?? 0))")
                continue
            }
            entries[name] = (keyNode, valueNode)
            keys.append(name)
        }
    }

    /// `path.name`.
    public func join(_ name: String) -> String { path.isEmpty ? name : path + "." + name }

    /// Records an unknown-key fault, with the nearest known key, for every key not in `known`.
    public func refuseUnknownKeys(_ known: [String]) {
        for name in keys where !known.contains(name) {
            diagnostics.add(.unknownKey, at: entries[name]!.key, key: join(name),
                            "unknown key" + KeySuggestion.hint(for: name, among: known))
        }
    }

    /// Whether `name` is present (even with a null value).
    public func has(_ name: String) -> Bool { entries[name] != nil }

    /// The key node of `name` (for faults about the key itself).
    public func keyNode(_ name: String) -> Node? { entries[name]?.key }

    /// The value node of `name`, nil when absent or null.
    public func value(_ name: String) -> Node? {
        guard let value = entries[name]?.value else { return nil }
        if let scalar = value.scalar, scalar.style == .plain, ["null", "~", ""].contains(scalar.string) { return nil }
        return value
    }

    /// Records a fault about the value of `name` (or the mapping, when `name` is absent).
    public func fail(_ code: TopologyError.Code, _ name: String, _ message: String) {
        diagnostics.add(code, at: entries[name]?.value ?? node, key: join(name), message)
    }

    // MARK: - Typed values

    /// A scalar as text; numbers and booleans are accepted as their text.
    public func string(_ name: String) -> String? {
        guard let node = value(name) else { return nil }
        guard let scalar = node.scalar else { return wrong(name, "a string", node) }
        return scalar.string
    }

    /// A whole number (a plain scalar; `"8"` in quotes is refused like the recipe parser does).
    public func int(_ name: String) -> Int? {
        guard let node = value(name) else { return nil }
        guard let scalar = node.scalar, scalar.style == .plain, let v = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            return wrong(name, "an integer", node)
        }
        return v
    }

    /// A number (integers are numbers too).
    public func double(_ name: String) -> Double? {
        guard let node = value(name) else { return nil }
        guard let scalar = node.scalar, scalar.style == .plain, let v = Double(scalar.string.replacingOccurrences(of: "_", with: "")),
              v.isFinite else {
            return wrong(name, "a finite number", node)
        }
        return v
    }

    /// `true` or `false`.
    public func bool(_ name: String) -> Bool? {
        guard let node = value(name) else { return nil }
        guard let scalar = node.scalar, scalar.style == .plain, let v = parseBool(scalar.string) else {
            return wrong(name, "true or false", node)
        }
        return v
    }

    /// A list of scalars.
    public func stringList(_ name: String) -> [String]? {
        guard let node = value(name) else { return nil }
        guard let items = node.sequence else { return wrong(name, "a list", node) }
        var out: [String] = []
        for item in items {
            guard let s = item.scalar?.string else {
                diagnostics.add(.wrongType, at: item, key: join(name), "expected a list of plain values, got \(describe(item)) in it")
                return nil
            }
            out.append(s)
        }
        return out
    }

    /// A list of whole numbers.
    public func intList(_ name: String) -> [Int]? {
        guard let node = value(name) else { return nil }
        guard let items = node.sequence else { return wrong(name, "a list of integers", node) }
        var out: [Int] = []
        for item in items {
            guard let scalar = item.scalar, scalar.style == .plain, let v = Int(scalar.string) else {
                diagnostics.add(.wrongType, at: item, key: join(name), "expected a list of integers, got \(describe(item)) in it")
                return nil
            }
            out.append(v)
        }
        return out
    }

    /// A nested mapping.
    public func mapping(_ name: String) -> YAMLMapping? {
        guard let node = value(name) else { return nil }
        return YAMLMapping(node, path: join(name), diagnostics: diagnostics)
    }

    private func wrong<T>(_ name: String, _ expected: String, _ node: Node) -> T? {
        diagnostics.add(.wrongType, at: node, key: join(name), "expected \(expected), got \(describe(node))")
        return nil
    }
}

/// `true`/`false` in any case (YAML 1.2's booleans; `yes`/`no` are refused as ambiguous).
func parseBool(_ text: String) -> Bool? {
    switch text.lowercased() {
    case "true": true
    case "false": false
    default: nil
    }
}

/// How a node reads in a message: `"fast"`, `12`, `a list`, `a mapping`.
public func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let scalar):
        if scalar.style == .plain, Double(scalar.string) != nil || parseBool(scalar.string) != nil { return scalar.string }
        return "\"\(scalar.string)\""
    case .sequence: return "a list"
    case .mapping: return "a mapping"
    }
}

/// ` (did you mean 'threads'?)` for a key within a few edits of a known one.
enum KeySuggestion {
    static func hint(for name: String, among known: [String]) -> String {
        let normalized = name.replacingOccurrences(of: "-", with: "_").lowercased()
        let scored = known.map { ($0, editDistance(normalized, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, best.0.count / 3) else {
            return "; known keys: " + known.joined(separator: ", ")
        }
        return " (did you mean '\(best.0)'?)"
    }

    /// Levenshtein distance over UTF-8 bytes.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}
