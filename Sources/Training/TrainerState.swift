import Datasets
import Foundation

/// Where the loop is, saved in every checkpoint as `trainer_state.json` with transformers'
/// field names (so tools that read HF runs read ours), plus what an exact resume needs beyond
/// them: the data loader's position.
public struct TrainerState: Sendable {
    /// Optimizer updates taken.
    public var globalStep = 0
    /// Fractional passes over the training data so far.
    public var epoch = 0.0
    /// Updates the run was planned for.
    public var maxSteps: Int
    public var numTrainEpochs: Double
    public var loggingSteps: Int
    public var evalSteps: Int?
    public var saveSteps: Int
    /// Examples per micro-batch.
    public var trainBatchSize: Int
    /// One entry per logging step and per evaluation, as transformers writes them:
    /// `{"epoch", "step", "loss", "grad_norm", "learning_rate"}` and `{"epoch", "step", "eval_loss", ...}`.
    public var logHistory: [[String: Double]] = []
    /// The lowest `eval_loss` seen, and the checkpoint saved while it was the latest evaluation.
    public var bestMetric: Double?
    public var bestModelCheckpoint: String?
    /// Real tokens trained on.
    public var numInputTokensSeen = 0
    /// The data loader's place: the next micro-batch it hands out.
    public var loaderPosition = DataLoader.Position(epoch: 0, index: 0)

    /// - Parameters:
    ///   - maxSteps: planned updates.
    ///   - numTrainEpochs: planned epochs.
    ///   - loggingSteps: the logging period.
    ///   - evalSteps: the evaluation period, if any.
    ///   - saveSteps: the checkpoint period.
    ///   - trainBatchSize: examples per micro-batch.
    public init(maxSteps: Int, numTrainEpochs: Double, loggingSteps: Int, evalSteps: Int?, saveSteps: Int, trainBatchSize: Int) {
        self.maxSteps = maxSteps
        self.numTrainEpochs = numTrainEpochs
        self.loggingSteps = loggingSteps
        self.evalSteps = evalSteps
        self.saveSteps = saveSteps
        self.trainBatchSize = trainBatchSize
    }

    /// File name inside a checkpoint directory.
    public static let fileName = "trainer_state.json"

    // MARK: - JSON

    /// The state as transformers lays out `trainer_state.json`, plus `data_loader`.
    public func jsonObject() -> [String: Any] {
        [
            "global_step": globalStep, "epoch": epoch, "max_steps": maxSteps, "num_train_epochs": numTrainEpochs,
            "logging_steps": loggingSteps, "eval_steps": evalSteps.map { $0 as Any } ?? NSNull(), "save_steps": saveSteps,
            "train_batch_size": trainBatchSize, "log_history": logHistory.map(TrainerState.historyEntry),
            "best_metric": bestMetric.map { $0 as Any } ?? NSNull(),
            "best_model_checkpoint": bestModelCheckpoint.map { $0 as Any } ?? NSNull(),
            "num_input_tokens_seen": numInputTokensSeen, "total_flos": 0,
            "is_local_process_zero": true, "is_world_process_zero": true, "is_hyper_param_search": false,
            "trial_name": NSNull(), "trial_params": NSNull(),
            "data_loader": ["epoch": loaderPosition.epoch, "index": loaderPosition.index],
        ]
    }

    /// `step` as an integer, everything else as numbers.
    private static func historyEntry(_ entry: [String: Double]) -> [String: Any] {
        var out: [String: Any] = [:]
        for (k, v) in entry { out[k] = k == "step" ? Int(v) as Any : v as Any }
        return out
    }

    /// Writes `trainer_state.json` into `directory` (atomically: temporary file, then rename).
    public func write(toDirectory directory: String) throws {
        try writeJSON(jsonObject(), to: (directory as NSString).appendingPathComponent(TrainerState.fileName))
    }

    /// Reads `trainer_state.json` from a checkpoint directory.
    /// - Throws: `TrainingError` naming the file and field when it is unreadable or incomplete.
    public static func read(fromDirectory directory: String) throws -> TrainerState {
        let path = (directory as NSString).appendingPathComponent(fileName)
        let json = try readJSONObject(path)
        func int(_ key: String) throws -> Int {
            guard let v = json[key] as? NSNumber else { throw TrainingError(.checkpoint, path: path, "'\(key)' is missing or not a number") }
            return v.intValue
        }
        func double(_ key: String) throws -> Double {
            guard let v = json[key] as? NSNumber else { throw TrainingError(.checkpoint, path: path, "'\(key)' is missing or not a number") }
            return v.doubleValue
        }
        var state = TrainerState(maxSteps: try int("max_steps"), numTrainEpochs: try double("num_train_epochs"),
                                 loggingSteps: try int("logging_steps"), evalSteps: (json["eval_steps"] as? NSNumber)?.intValue,
                                 saveSteps: try int("save_steps"), trainBatchSize: try int("train_batch_size"))
        state.globalStep = try int("global_step")
        state.epoch = try double("epoch")
        state.numInputTokensSeen = (json["num_input_tokens_seen"] as? NSNumber)?.intValue ?? 0
        state.bestMetric = (json["best_metric"] as? NSNumber)?.doubleValue
        state.bestModelCheckpoint = json["best_model_checkpoint"] as? String
        state.logHistory = ((json["log_history"] as? [[String: Any]]) ?? []).map { entry in
            entry.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
        guard let loader = json["data_loader"] as? [String: Any], let e = loader["epoch"] as? NSNumber, let i = loader["index"] as? NSNumber else {
            throw TrainingError(.checkpoint, path: path,
                                "'data_loader' is missing: the checkpoint was not written by this trainer, so the data position is unknown")
        }
        state.loaderPosition = DataLoader.Position(epoch: e.intValue, index: i.intValue)
        return state
    }
}

// MARK: - Small JSON files

/// Writes a JSON object pretty-printed with sorted keys, through a temporary file and a rename.
func writeJSON(_ object: Any, to path: String) throws {
    var data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    data.append(UInt8(ascii: "\n"))
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
}

/// Reads a file holding one JSON object.
func readJSONObject(_ path: String) throws -> [String: Any] {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw TrainingError(.io, path: path, "cannot read: \(error.localizedDescription)")
    }
    // Numbers exactly: the log history and best metric must read back as they were written.
    guard let object = ExactJSON.foundationObject(from: data) as? [String: Any] else {
        throw TrainingError(.checkpoint, path: path, "not a JSON object")
    }
    return object
}
