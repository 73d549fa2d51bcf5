import Foundation
import Training

/// What a trainer role (the actor's trainer, the critic) writes into its part of a checkpoint:
/// the trained weights (HF layout, or the PEFT adapter), its tokenizer and chat template, the
/// optimizer state, and its version (updates made) in `versionFile`.
struct TrainerCheckpointFiles {
    let trainable: any TrainableParameters
    let optimizer: OptimizerStep
    let companions: CompanionFiles
    let versionFile: String

    func save(to directory: String, version: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try trainable.save(to: directory)
        try companions.save(to: directory)
        try optimizer.save(toDirectory: directory)
        try String(version).write(toFile: "\(directory)/\(versionFile)", atomically: true, encoding: .utf8)
    }

    /// Loads what `save` wrote; returns the version, or nil when the directory has no version
    /// file (a checkpoint written before the role kept one).
    func restore(from directory: String) throws -> Int? {
        try trainable.restore(from: directory)
        try optimizer.restore(fromDirectory: directory)
        let file = "\(directory)/\(versionFile)"
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let v = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), v >= 0 else {
            throw RoleError(.checkpoint, "\(file): expected a non-negative integer, found \(text.prefix(20))")
        }
        return v
    }
}
