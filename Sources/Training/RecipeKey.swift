import Datasets
import Foundation

/// One recipe key: its name (the same in YAML and as a `--flag`), its type, the stages it has an
/// effect in, and the field of `TrainingRecipe` it sets.
///
/// `RecipeKey.all` is the single list the YAML reader, the flag parser, the resolved-config
/// printer and the documentation follow, so a key cannot be known to one and not another.
public struct RecipeKey {
    /// The type a value must have.
    public enum Kind: Sendable {
        case int, double, bool, string, stringList
    }

    /// The field a key sets.
    enum Binding {
        case int(WritableKeyPath<TrainingRecipe, Int>)
        case optionalInt(WritableKeyPath<TrainingRecipe, Int?>)
        case double(WritableKeyPath<TrainingRecipe, Double>)
        case optionalDouble(WritableKeyPath<TrainingRecipe, Double?>)
        case bool(WritableKeyPath<TrainingRecipe, Bool>)
        case string(WritableKeyPath<TrainingRecipe, String>)
        case optionalString(WritableKeyPath<TrainingRecipe, String?>)
        case stringList(WritableKeyPath<TrainingRecipe, [String]>)
    }

    /// The key as written in YAML and, after `--`, on the command line.
    public let name: String
    /// The stages the key has an effect in; the others accept it and say it is ignored.
    public let stages: Set<TrainingStage>
    /// One line for `--help` and the documentation.
    public let help: String
    let binding: Binding

    init(_ name: String, _ binding: Binding, stages: Set<TrainingStage> = Set(TrainingStage.allCases), _ help: String) {
        self.name = name
        self.binding = binding
        self.stages = stages
        self.help = help
    }

    /// The value's type.
    public var kind: Kind {
        switch binding {
        case .int, .optionalInt: .int
        case .double, .optionalDouble: .double
        case .bool: .bool
        case .string, .optionalString: .string
        case .stringList: .stringList
        }
    }

    /// Whether `null` (nil) is allowed.
    public var isOptional: Bool {
        switch binding {
        case .optionalInt, .optionalDouble, .optionalString: true
        default: false
        }
    }

    /// The type in words, for "expected ..." messages.
    public var expected: String {
        let base = switch kind {
        case .int: "an integer"
        case .double: "a number"
        case .bool: "true or false"
        case .string: "a string"
        case .stringList: "a list of strings (or one comma-separated string)"
        }
        return isOptional ? base + " or null" : base
    }

    /// The key's value in `recipe` as YAML writes it, e.g. `5e-05` or `null`.
    public func defaultDescription(in recipe: TrainingRecipe) -> String { value(in: recipe).description }

    /// The key's value in `recipe`.
    public func value(in recipe: TrainingRecipe) -> RecipeValue {
        switch binding {
        case .int(let k): .int(recipe[keyPath: k])
        case .optionalInt(let k): recipe[keyPath: k].map(RecipeValue.int) ?? .null
        case .double(let k): .double(recipe[keyPath: k])
        case .optionalDouble(let k): recipe[keyPath: k].map(RecipeValue.double) ?? .null
        case .bool(let k): .bool(recipe[keyPath: k])
        case .string(let k): .string(recipe[keyPath: k])
        case .optionalString(let k): recipe[keyPath: k].map(RecipeValue.string) ?? .null
        case .stringList(let k): .strings(recipe[keyPath: k])
        }
    }

    /// Sets the key in `recipe`; the value must already have the key's type (see `convert`).
    func set(_ value: RecipeValue, in recipe: inout TrainingRecipe) {
        switch (binding, value) {
        case (.int(let k), .int(let v)): recipe[keyPath: k] = v
        case (.optionalInt(let k), .int(let v)): recipe[keyPath: k] = v
        case (.optionalInt(let k), .null): recipe[keyPath: k] = nil
        case (.double(let k), .double(let v)): recipe[keyPath: k] = v
        case (.optionalDouble(let k), .double(let v)): recipe[keyPath: k] = v
        case (.optionalDouble(let k), .null): recipe[keyPath: k] = nil
        case (.bool(let k), .bool(let v)): recipe[keyPath: k] = v
        case (.string(let k), .string(let v)): recipe[keyPath: k] = v
        case (.optionalString(let k), .string(let v)): recipe[keyPath: k] = v
        case (.optionalString(let k), .null): recipe[keyPath: k] = nil
        case (.stringList(let k), .strings(let v)): recipe[keyPath: k] = v
        default: preconditionFailure("value \(value) does not fit key \(name)")
        }
    }

    /// A scalar as this key's type, or nil when it does not fit. Integers are accepted where a
    /// number is expected; `null`, `~` and an empty plain scalar are nil for optional keys.
    /// - Parameters:
    ///   - text: the scalar's text.
    ///   - isPlain: false when the YAML scalar was quoted, so `"null"` stays a string.
    func convert(scalar text: String, isPlain: Bool) -> RecipeValue? {
        if isPlain, ["null", "~", "", "Null", "NULL"].contains(text) {
            return isOptional ? .null : nil
        }
        switch kind {
        case .int: return Int(text).map(RecipeValue.int)
        case .double:
            guard let v = Double(text), v.isFinite else { return nil }
            return .double(v)
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "on": return .bool(true)
            case "false", "no", "off": return .bool(false)
            default: return nil
            }
        case .string: return .string(text)
        case .stringList:
            let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return .strings(items)
        }
    }
}

/// A recipe value of one of the key types.
public enum RecipeValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int), double(Double), bool(Bool), string(String), strings([String]), null

    /// The value as YAML writes it (strings quoted JSON-style, which YAML reads back).
    public var description: String {
        switch self {
        case .int(let v): String(v)
        case .double(let v): String(v)
        case .bool(let v): String(v)
        case .string(let v): quoted(v)
        case .strings(let v): "[" + v.map(quoted).joined(separator: ", ") + "]"
        case .null: "null"
        }
    }
}

/// `s` quoted for an error message (the data module's one quoting, so every message reads alike).
func quoted(_ s: String) -> String { MessageText.quoted(s, limit: 80) }
