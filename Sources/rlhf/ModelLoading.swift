import Model

/// Loading models for the commands (checkpoint directories land with the checkpoint module).
enum ModelLoading {
    static func load(directory: String) throws -> Llama {
        throw ValidationErrorMessage("loading \(directory): not yet supported")
    }
}

struct ValidationErrorMessage: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
