/// Why a recipe or a flag was refused, and where: the file and line, or the flag.
///
/// Reads like a compiler diagnostic:
/// `recipes/sft.yaml:7: 'learning_rate': expected a number, got "fast"`, or
/// `--max_steps: expected an integer, got "ten"`. Equality compares the code only.
public struct RecipeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of problem.
    public enum Code: String, Sendable {
        /// The file is not valid YAML, or not a mapping of keys to values.
        case syntax
        /// A key (or flag) no recipe has.
        case unknownKey
        /// A key given twice in one file.
        case duplicateKey
        /// A value of the wrong type.
        case wrongType
        /// A value of the right type outside what is allowed.
        case invalidValue
        /// A required key is absent.
        case missing
        /// A feature this build does not have yet.
        case unavailable
        /// The recipe file could not be read.
        case unreadable
    }

    public var code: Code
    /// Where: `file:line` or `--flag`, or empty when the problem is the recipe as a whole.
    public var place: String
    /// The key concerned, if any.
    public var key: String?
    /// What is wrong.
    public var message: String

    /// - Parameters:
    ///   - code: the kind of problem.
    ///   - place: `file:line`, `--flag`, or empty.
    ///   - key: the key concerned.
    ///   - message: what is wrong, and what would be right.
    public init(_ code: Code, place: String, key: String? = nil, _ message: String) {
        self.code = code
        self.place = place
        self.key = key
        self.message = message
    }

    public var description: String {
        var s = place.isEmpty ? "" : place + ": "
        if let key, !place.hasPrefix("--") { s += "'\(key)': " }
        return s + message
    }

    /// Compares the codes only.
    public static func == (a: RecipeError, b: RecipeError) -> Bool { a.code == b.code }
}

/// Where a key's resolved value came from.
public enum RecipeSource: Sendable, Equatable, CustomStringConvertible {
    /// Not given: the default.
    case defaultValue
    /// The recipe file, at this line.
    case file(path: String, line: Int)
    /// A command-line flag.
    case flag(String)

    /// `file:line`, `--flag`, or empty for a default.
    public var description: String {
        switch self {
        case .defaultValue: ""
        case .file(let path, let line): "\(path):\(line)"
        case .flag(let flag): flag
        }
    }
}
