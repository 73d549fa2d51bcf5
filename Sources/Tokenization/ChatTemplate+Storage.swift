import Foundation

/// Saving the template with a model, so that the template that trained it is used afterwards.
extension ChatTemplate {
    /// The file in a model directory that names its chat template.
    public static let fileName = "chat_template.json"

    private struct Stored: Codable {
        var name: String
    }

    /// Writes `DIR/chat_template.json` (`{"name": "vicuna"}`) through a temporary file and a
    /// rename, so a crash never leaves a half-written file.
    ///
    /// - Parameter directory: the model directory; created if missing.
    public func save(toDirectory directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Stored(name: rawValue))
        try AtomicFileWrite.write(data, to: "\(directory)/\(ChatTemplate.fileName)", what: "the chat template")
    }

    /// The template saved in a model directory, or nil when it has none.
    ///
    /// - Parameter directory: a model directory.
    /// - Throws: when the file exists but is unreadable or names an unknown template.
    public static func load(fromDirectory directory: String) throws -> ChatTemplate? {
        let path = "\(directory)/\(fileName)"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let stored = try? JSONDecoder().decode(Stored.self, from: data) else {
            throw TokenizerError("\(path): expected {\"name\": TEMPLATE}")
        }
        do {
            return try ChatTemplate(named: stored.name)
        } catch let error as TokenizerError {
            throw TokenizerError("\(path): \(error.description)")
        }
    }

    /// The template to use: the one named (e.g. by `--template`), else the one saved with the
    /// model, else `ChatTemplate.default`.
    ///
    /// - Parameters:
    ///   - name: an explicit template name, or nil.
    ///   - modelDirectory: the model (or tokenizer) directory, or nil.
    public static func resolve(name: String?, modelDirectory: String?) throws -> ChatTemplate {
        if let name { return try ChatTemplate(named: name) }
        if let modelDirectory, let saved = try load(fromDirectory: modelDirectory) { return saved }
        return .default
    }
}
