import Foundation
import Yams

/// A recipe after the file, the flags and the defaults are merged and checked: what a run uses.
public struct ResolvedRecipe: Sendable {
    /// The trainer it drives.
    public var stage: TrainingStage
    /// The values.
    public var recipe: TrainingRecipe
    /// Where each key given explicitly came from; keys absent here are defaults.
    public var sources: [String: RecipeSource]
    /// Keys given for a stage that ignores them, and similar notes for the log.
    public var warnings: [String]

    /// A recipe with no key given explicitly (for callers that build one in code); call
    /// `validate()` before using it.
    /// - Parameters:
    ///   - stage: the trainer it drives.
    ///   - recipe: the values.
    public init(stage: TrainingStage, recipe: TrainingRecipe) {
        self.init(stage: stage, recipe: recipe, sources: [:], warnings: [])
    }

    init(stage: TrainingStage, recipe: TrainingRecipe, sources: [String: RecipeSource], warnings: [String]) {
        self.stage = stage
        self.recipe = recipe
        self.sources = sources
        self.warnings = warnings
    }

    /// Where `key`'s value came from.
    public func source(of key: String) -> RecipeSource { sources[key] ?? .defaultValue }

    /// The recipe as YAML that `RecipeParser` reads back to the same values, every key listed,
    /// each explicit one followed by a comment saying where it was set.
    public var yaml: String {
        var lines = ["# rlhf train \(stage.rawValue): resolved recipe (flags override the file, the file the defaults)"]
        for key in RecipeKey.all {
            var line = "\(key.name): \(key.value(in: recipe))"
            let source = self.source(of: key.name)
            if source != .defaultValue {
                line = line.padding(toLength: max(line.count, 48), withPad: " ", startingAt: 0) + "  # \(source)"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Reads recipes: YAML files (with Yams) and `--key value` flags, refusing unknown keys and
/// wrong types with the key and the line (or flag) they were given at.
public enum RecipeParser {
    /// Reads the recipe file (if any), applies the flags over it, and validates the result for
    /// `stage`.
    /// - Parameters:
    ///   - stage: the trainer the recipe is for.
    ///   - configPath: the YAML recipe, or nil for flags only.
    ///   - flags: `--key value`, `--key=value` or a bare `--bool_key`; dashes may replace underscores.
    /// - Throws: `RecipeError` naming the file and line, or the flag.
    public static func resolve(stage: TrainingStage, configPath: String?, flags: [String]) throws -> ResolvedRecipe {
        var resolved = ResolvedRecipe(stage: stage, recipe: TrainingRecipe(), sources: [:], warnings: [])
        if let configPath {
            let text: String
            do {
                text = try String(contentsOfFile: configPath, encoding: .utf8)
            } catch {
                throw RecipeError(.unreadable, place: configPath, "cannot read the recipe: \(error.localizedDescription)")
            }
            try apply(yaml: text, file: configPath, to: &resolved)
        }
        try apply(flags: flags, to: &resolved)
        try resolved.validate()
        for key in RecipeKey.all where !key.stages.contains(stage) {
            if let source = resolved.sources[key.name] {
                resolved.warnings.append("\(source): '\(key.name)' has no effect in \(stage.rawValue) (used by \(key.stages.map(\.rawValue).sorted().joined(separator: ", ")))")
            }
        }
        return resolved
    }

    // MARK: - YAML

    /// Sets every key of a YAML mapping.
    /// - Parameters:
    ///   - text: the YAML document.
    ///   - file: its path, for messages.
    ///   - resolved: updated in place; each key's source becomes its line.
    public static func apply(yaml text: String, file: String, to resolved: inout ResolvedRecipe) throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw RecipeError(.syntax, place: file, "not valid YAML: \(error)")
        }
        guard let root else { return }  // an empty file sets nothing
        guard let mapping = root.mapping else {
            throw RecipeError(.syntax, place: place(file, root.mark), "expected a mapping of keys to values at the top level")
        }
        var seen: [String: Int] = [:]
        for (keyNode, valueNode) in mapping {
            let line = keyNode.mark?.line ?? 0
            let where_ = "\(file):\(line)"
            guard let name = keyNode.scalar?.string else {
                throw RecipeError(.syntax, place: where_, "keys must be plain names")
            }
            guard let key = RecipeKey.named(name) else {
                throw RecipeError(.unknownKey, place: where_, key: name, "unknown key" + suggestion(for: name, prefix: ""))
            }
            if let first = seen[key.name] {
                throw RecipeError(.duplicateKey, place: where_, key: key.name, "given twice (first at line \(first))")
            }
            seen[key.name] = line
            key.set(try value(of: valueNode, for: key, place: where_), in: &resolved.recipe)
            resolved.sources[key.name] = .file(path: file, line: line)
        }
    }

    private static func value(of node: Node, for key: RecipeKey, place: String) throws -> RecipeValue {
        func wrong(_ got: String) -> RecipeError {
            RecipeError(.wrongType, place: place, key: key.name, "expected \(key.expected), got \(got)")
        }
        switch node {
        case .scalar(let scalar):
            let isPlain = scalar.style == .plain
            guard let v = key.convert(scalar: scalar.string, isPlain: isPlain) else {
                throw wrong(describe(scalar.string, isPlain: isPlain))
            }
            return v
        case .sequence(let sequence):
            guard key.kind == .stringList else { throw wrong("a list") }
            var items: [String] = []
            for item in sequence {
                guard let s = item.scalar?.string else { throw wrong("a list holding a nested list or mapping") }
                items.append(s)
            }
            return .strings(items)
        case .mapping:
            throw wrong("a mapping")
        }
    }

    // MARK: - Flags

    /// Sets the keys given as flags, over whatever the file set.
    /// - Parameters:
    ///   - flags: `--key value`, `--key=value`, or `--bool_key` alone (true).
    ///   - resolved: updated in place; each key's source becomes its flag.
    public static func apply(flags: [String], to resolved: inout ResolvedRecipe) throws {
        var i = 0
        while i < flags.count {
            let arg = flags[i]
            i += 1
            guard arg.hasPrefix("--"), arg.count > 2 else {
                throw RecipeError(.unknownKey, place: arg, "unexpected argument; recipe keys are given as --key value")
            }
            var name = String(arg.dropFirst(2))
            var text: String?
            if let eq = name.firstIndex(of: "=") {
                text = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            let flag = "--" + name
            guard let key = RecipeKey.named(name) else {
                throw RecipeError(.unknownKey, place: flag, "unknown option" + suggestion(for: name, prefix: "--"))
            }
            if text == nil {
                let next = i < flags.count ? flags[i] : nil
                if key.kind == .bool, next.map({ $0.hasPrefix("--") }) ?? true {
                    text = "true"  // a bare boolean flag switches it on
                } else if let next, !next.hasPrefix("--") {
                    text = next
                    i += 1
                } else {
                    throw RecipeError(.wrongType, place: flag, key: key.name, "needs a value: \(key.expected)")
                }
            }
            guard let value = key.convert(scalar: text!, isPlain: true) else {
                throw RecipeError(.wrongType, place: flag, key: key.name,
                                  "expected \(key.expected), got \(describe(text!, isPlain: true))")
            }
            key.set(value, in: &resolved.recipe)
            resolved.sources[key.name] = .flag(flag)
        }
    }

    // MARK: - Messages

    private static func place(_ file: String, _ mark: Mark?) -> String {
        mark.map { "\(file):\($0.line)" } ?? file
    }

    private static func describe(_ text: String, isPlain: Bool) -> String {
        if isPlain, Double(text) != nil { return text }
        if isPlain, ["true", "false"].contains(text.lowercased()) { return text }
        if isPlain, ["null", "~", ""].contains(text) { return "null" }
        return quoted(text)
    }

    /// ` (did you mean 'learning_rate'?)` when a known key is within a couple of edits.
    static func suggestion(for name: String, prefix: String) -> String {
        let normalized = name.replacingOccurrences(of: "-", with: "_").lowercased()
        let scored = RecipeKey.all.map { ($0.name, editDistance(normalized, $0.name)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, best.0.count / 4) else {
            return "; see the list of keys in Docs/training.md or --help"
        }
        return " (did you mean '\(prefix)\(best.0)'?)"
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
