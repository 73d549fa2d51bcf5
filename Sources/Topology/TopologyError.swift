/// One fault of a topology file, placed like a compiler diagnostic:
/// `topologies/quickstart.yaml:14:12: roles.actor.device: this build runs on cpu only; ...`.
/// Equality compares the code only.
public struct TopologyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of fault.
    public enum Code: String, Sendable {
        /// Not YAML, or not the shape expected (e.g. a list where a mapping belongs).
        case syntax
        /// A key the schema does not have.
        case unknownKey
        /// A key given twice in one mapping.
        case duplicateKey
        /// A value of the wrong type.
        case wrongType
        /// A value of the right type outside what is allowed.
        case invalidValue
        /// A required key or section is absent.
        case missing
        /// A role names a host that `hosts:` does not have, or none where one is needed.
        case unknownHost
        /// Two roles would bind the same host and port.
        case portConflict
        /// A model directory without `config.json`, or a data file that does not exist.
        case missingFile
        /// A device this build does not run (anything but cpu).
        case unsupportedDevice
        /// A feature of a later version (replicas > 1).
        case unsupported
        /// CPU numbers this machine does not let the process use.
        case coresOutOfRange
        /// The file could not be read.
        case unreadable
    }

    public var code: Code
    /// The file, or empty for a spec built in code.
    public var file: String
    /// 1-based line and column of the offending key or value; 0 when the fault has no place
    /// (a section that is absent).
    public var line: Int
    public var column: Int
    /// Dotted path of the key concerned, e.g. `roles.actor.threads`; empty for the whole file.
    public var key: String
    /// What is wrong and what would be right.
    public var message: String

    /// - Parameters:
    ///   - code: the kind of fault.
    ///   - file: the topology file.
    ///   - line: 1-based line, 0 if none.
    ///   - column: 1-based column, 0 if none.
    ///   - key: dotted key path.
    ///   - message: what is wrong.
    public init(_ code: Code, file: String, line: Int = 0, column: Int = 0, key: String = "", _ message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        var place = file
        if line > 0 { place += ":\(line)" + (column > 0 ? ":\(column)" : "") }
        var s = place.isEmpty ? "" : place + ": "
        if !key.isEmpty { s += key + ": " }
        return s + message
    }

    /// Compares the codes only.
    public static func == (a: TopologyError, b: TopologyError) -> Bool { a.code == b.code }
}

/// Every fault found in one topology file (parsing and validation collect as many as they can
/// before giving up), one per line in the description.
public struct TopologyErrors: Error, Sendable, CustomStringConvertible {
    /// The faults, in the order of the file.
    public var errors: [TopologyError]

    public init(_ errors: [TopologyError]) {
        self.errors = errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    /// The codes, in order (for tests and callers that branch on them).
    public var codes: [TopologyError.Code] { errors.map(\.code) }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
