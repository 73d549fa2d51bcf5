import Foundation

/// A value read from a tokenizer's JSON file together with the path that leads to it, so that
/// every complaint about the file names the file and the exact place (`pre_tokenizer.pretokenizers[1].pattern`).
///
/// Only used while loading: the parsed tree is turned into typed values and dropped.
struct JSONNode {
    /// What `JSONSerialization` produced: NSNull, String, NSNumber, [Any], [String: Any], or nil when absent.
    let value: Any?
    let file: String
    let path: String

    /// Parses `data` read from `file`; a syntax error (truncated file, stray byte) names the file.
    static func parse(_ data: Data, file: String) throws -> JSONNode {
        do {
            let value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return JSONNode(value: value, file: file, path: "")
        } catch {
            throw TokenizerError("\(file): not valid JSON (\(error.localizedDescription))")
        }
    }

    /// Reads and parses the file at `path`.
    static func read(_ path: String) throws -> JSONNode {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError("\(path): cannot be read")
        }
        return try parse(data, file: path)
    }

    /// An error about this value: "FILE: PATH MESSAGE" (or "FILE: MESSAGE" at the root).
    func error(_ message: String) -> TokenizerError {
        TokenizerError(path.isEmpty ? "\(file): \(message)" : "\(file): \(path) \(message)")
    }

    var isNull: Bool { value == nil || value is NSNull }

    subscript(key: String) -> JSONNode {
        let dict = value as? [String: Any]
        return JSONNode(value: dict?[key], file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// What kind of JSON value this is, for error messages.
    var kind: String {
        switch value {
        case nil: return "missing"
        case is NSNull: return "null"
        case is String: return "a string"
        case let n as NSNumber: return Self.isBool(n) ? "a boolean" : "a number"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "an unknown value"
        }
    }

    func string() throws -> String {
        guard let s = value as? String else { throw error("must be a string, found \(kind)") }
        return s
    }

    /// A string, or nil when the key is absent or null.
    func optionalString() throws -> String? { isNull ? nil : try string() }

    func int() throws -> Int {
        guard let n = value as? NSNumber, !Self.isBool(n), !(value is String) else { throw error("must be an integer, found \(kind)") }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 1e15 else { throw error("must be an integer, found \(n)") }
        return n.intValue
    }

    func optionalInt() throws -> Int? { isNull ? nil : try int() }

    func double() throws -> Double {
        guard let n = value as? NSNumber, !Self.isBool(n), !(value is String) else { throw error("must be a number, found \(kind)") }
        return n.doubleValue
    }

    func bool() throws -> Bool {
        guard let n = value as? NSNumber, Self.isBool(n), !(value is String) else { throw error("must be true or false, found \(kind)") }
        return n.boolValue
    }

    /// A boolean, or `defaultValue` when the key is absent or null (as the Rust reader's serde defaults do).
    func bool(default defaultValue: Bool) throws -> Bool { isNull ? defaultValue : try bool() }

    func array() throws -> [JSONNode] {
        guard let a = value as? [Any] else { throw error("must be an array, found \(kind)") }
        return a.enumerated().map { JSONNode(value: $1, file: file, path: "\(path)[\($0)]") }
    }

    func object() throws -> [String: JSONNode] {
        guard let d = value as? [String: Any] else { throw error("must be an object, found \(kind)") }
        var out: [String: JSONNode] = [:]
        for (k, v) in d { out[k] = JSONNode(value: v, file: file, path: path.isEmpty ? k : "\(path).\(k)") }
        return out
    }

    /// The "type" field every component object carries ("BPE", "Sequence", "ByteLevel").
    func typeName() throws -> String {
        guard value is [String: Any] else { throw error("must be an object, found \(kind)") }
        return try self["type"].string()
    }

    /// Refuses a component kind we do not implement, naming what is.
    func unsupported(_ what: String, supported: [String]) -> TokenizerError {
        TokenizerError("\(file): \(path.isEmpty ? "" : path + ".")type \"\(what)\" is not supported (supported: \(supported.joined(separator: ", ")))")
    }

    /// JSONSerialization gives booleans as NSNumber too; they are the CFBoolean singletons
    /// (Darwin) or have the objCType "c" (swift-corelibs-foundation), which no JSON number gets.
    static func isBool(_ n: NSNumber) -> Bool {
        #if canImport(Darwin)
        return CFGetTypeID(n) == CFBooleanGetTypeID()
        #else
        return String(cString: n.objCType) == "c"
        #endif
    }
}
