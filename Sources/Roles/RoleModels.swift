import Foundation
import Model
import Tokenization
import Training

/// Loading a role's model directory, with errors that name the role and the directory.
enum RoleModels {
    /// A model directory and its tokenizer's special ids.
    struct Loaded {
        var model: Llama
        var padID: Int
        var eosID: Int
        /// The directory's tokenizer file, when it has one.
        var tokenizerPath: String?
    }

    static func load(_ directory: String, for role: RoleName) throws -> Loaded {
        guard FileManager.default.fileExists(atPath: "\(directory)/config.json") else {
            throw RoleError(.loading, "\(role.rawValue): \(directory) is not a model directory (no config.json)")
        }
        let model: Llama
        do {
            model = try Llama.load(directory: directory)
        } catch {
            throw RoleError(.loading, "\(role.rawValue): cannot load \(directory): \(error)")
        }
        var padID = model.config.padTokenID ?? 0, eosID = model.config.eosTokenID ?? 2
        if let tokenizer = try TokenizerFiles.loadIfPresent(directory: directory) {
            padID = tokenizer.paddingID
            if tokenizer.eosID >= 0 { eosID = tokenizer.eosID }
        }
        return Loaded(model: model, padID: padID, eosID: eosID, tokenizerPath: TokenizerFiles.file(in: directory))
    }
}
