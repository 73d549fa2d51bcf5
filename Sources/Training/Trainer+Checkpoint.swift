import Datasets
import Foundation
import Model
import Tensor

/// Checkpoints: `output_dir/checkpoint-N/` holds the model in HF layout (with its tokenizer and
/// chat template), `optimizer.safetensors`, `rng_state.json`, `trainer_state.json` and
/// `recipe.yaml`. Each is written into a temporary directory that is renamed into place whole,
/// so a crash leaves either the complete checkpoint or none.
extension Trainer {
    /// File names inside a checkpoint.
    public static let optimizerFileName = OptimizerStep.fileName
    public static let rngFileName = "rng_state.json"
    public static let recipeFileName = "recipe.yaml"

    // MARK: - Starting a run

    /// Sets up the run directory: resumes, or refuses to mix with an earlier run unless told to
    /// overwrite it, then opens the metrics log and saves the recipe.
    func prepareOutput() throws {
        var resumeDirectory: String?
        if let resume = options.resumeFromCheckpoint {
            if resume == "latest" {
                guard let dir = options.outputDir, let latest = RunDirectory(path: dir).checkpoints().last else {
                    throw TrainingError(.checkpoint, path: options.outputDir ?? "",
                                        "resume_from_checkpoint is \"latest\", but output_dir holds no checkpoint-N directory")
                }
                resumeDirectory = latest.path
            } else {
                resumeDirectory = resume
            }
            try restore(from: resumeDirectory!)
        }
        guard let dir = options.outputDir else { return }
        let run = RunDirectory(path: dir)
        if resumeDirectory == nil, !run.checkpoints().isEmpty {
            guard options.overwriteOutputDir else {
                throw TrainingError(.outputExists, path: dir,
                                    "holds checkpoints of an earlier run; set resume_from_checkpoint: latest to continue it, or overwrite_output_dir: true to start afresh")
            }
            try run.removeCheckpoints()
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try run.removeInterruptedSaves()
        metrics = try MetricsLog(directory: dir, keepingStepsUpTo: resumeDirectory == nil ? nil : state.globalStep)
        if options.reportToTensorBoard {
            tensorBoard = try TensorBoardLog(directory: dir, resumedAt: resumeDirectory == nil ? nil : state.globalStep)
        }
        if let yaml = options.recipeYAML {
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(Trainer.recipeFileName), options: .atomic)
        }
        if let resumeDirectory {
            progress.message("resumed from \(resumeDirectory) at step \(state.globalStep) (data epoch \(state.loaderPosition.epoch), example \(state.loaderPosition.index))")
        }
    }

    // MARK: - Saving

    /// Writes `checkpoint-<global_step>` and applies `saveTotalLimit`.
    /// - Returns: the checkpoint's path.
    @discardableResult
    public func saveCheckpoint() throws -> String {
        guard let dir = options.outputDir else { throw TrainingError(.io, "no output_dir to save a checkpoint in") }
        let run = RunDirectory(path: dir)
        let final = run.checkpointPath(step: state.globalStep)
        if let loss = lastEvaluation?["eval_loss"], state.bestMetric.map({ loss < $0 }) ?? true {
            state.bestMetric = loss
            state.bestModelCheckpoint = final
        }
        try run.writeAtomically(final) { tmp in
            try objective.trainable.save(to: tmp)
            try objective.saveCompanionFiles(to: tmp)
            try optimizerStep.save(toDirectory: tmp)
            var generators = ["trainer": String(rng.state, radix: 16), "seed": String(options.seed)]
            for (name, state) in objective.trainable.randomState { generators[name] = String(state, radix: 16) }
            try writeJSON(generators, to: (tmp as NSString).appendingPathComponent(Trainer.rngFileName))
            try state.write(toDirectory: tmp)
            if let yaml = options.recipeYAML {
                try Data(yaml.utf8).write(to: URL(fileURLWithPath: tmp).appendingPathComponent(Trainer.recipeFileName))
            }
        }
        if let limit = options.saveTotalLimit { try run.rotate(keeping: limit, protecting: state.bestModelCheckpoint) }
        progress.message("saved \(final)")
        return final
    }

    /// The final model (with tokenizer and template) and `trainer_state.json` straight into the
    /// output directory, as transformers' `save_model(output_dir)` does.
    func saveFinalModel() throws {
        guard let dir = options.outputDir else { return }
        try objective.trainable.save(to: dir)
        try objective.saveCompanionFiles(to: dir)
        try state.write(toDirectory: dir)
        progress.message("saved the final model in \(dir)")
    }

    // MARK: - Restoring

    /// Loads everything a checkpoint holds: weights, optimizer state, generator, loop state and
    /// data position.
    /// - Throws: `TrainingError` or `CheckpointError` naming the file that is missing or does not fit.
    public func restore(from directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainingError(.checkpoint, path: directory, "checkpoint directory does not exist")
        }
        let saved = try TrainerState.read(fromDirectory: directory)
        try objective.trainable.restore(from: directory)
        try optimizerStep.restore(fromDirectory: directory)
        guard optimizerStep.step == saved.globalStep else {
            throw TrainingError(.checkpoint, path: directory,
                                "\(OptimizerStep.fileName) counts \(optimizerStep.step) updates but \(TrainerState.fileName) says global_step \(saved.globalStep): the files are from different checkpoints")
        }
        let rngPath = (directory as NSString).appendingPathComponent(Trainer.rngFileName)
        let generators = try readJSONObject(rngPath)
        func generator(_ name: String) throws -> UInt64 {
            guard let hex = generators[name] as? String, let bits = UInt64(hex, radix: 16) else {
                throw TrainingError(.checkpoint, path: rngPath, "'\(name)' is missing or not a hexadecimal generator state")
            }
            return bits
        }
        rng = SplitMix64(seed: try generator("trainer"))
        var own: [String: UInt64] = [:]
        for name in objective.trainable.randomState.keys { own[name] = try generator(name) }
        objective.trainable.randomState = own
        if saved.trainBatchSize != options.batchSize {
            progress.message("warning: the checkpoint was trained with micro-batches of \(saved.trainBatchSize), now \(options.batchSize): the data order from here differs from the original run")
        }
        if saved.maxSteps != totalSteps {
            progress.message("note: the run was planned for \(saved.maxSteps) updates and now for \(totalSteps): the learning-rate schedule follows the new plan")
        }
        loader = try DataLoader(exampleCount: objective.trainExampleCount, batchSize: options.batchSize, seed: options.dataSeed,
                                lengths: options.groupByLength ? objective.trainExampleLengths : nil, position: saved.loaderPosition)
        var restored = saved
        restored.maxSteps = totalSteps
        restored.numTrainEpochs = options.numTrainEpochs
        restored.loggingSteps = options.loggingSteps
        restored.evalSteps = options.evalSteps
        restored.saveSteps = options.saveSteps
        restored.trainBatchSize = options.batchSize
        state = restored
    }
}
