import Datasets
import Dispatch
import Foundation
import Model
import Tensor

/// The one training loop every stage shares: data order, gradient accumulation, clipping,
/// AdamW, the learning-rate schedule, logging, evaluation, checkpoints and exact resume.
///
/// Each optimizer update takes `gradientAccumulationSteps` micro-batches of `batchSize`
/// examples from a seeded, resumable `DataLoader` (a continuous stream across epochs, each
/// epoch a fresh shuffle, its last partial batch dropped), asks the objective for the summed
/// gradient, clips its global norm, and applies AdamW at the schedule's rate for that update.
/// Everything that decides the next update -- weights, AdamW moments and step count, loader
/// position, the run's generator -- is saved in each checkpoint, so a run resumed from one
/// reaches the same weights, bit for bit, as a run that was never stopped.
public final class Trainer {
    public let objective: any TrainingObjective
    public let options: TrainerOptions
    /// Clipping, AdamW at the scheduled rate and the update count: the part of the loop that
    /// does not depend on where gradients come from.
    public let optimizerStep: OptimizerStep
    public var optimizer: AdamW { optimizerStep.optimizer }
    public var schedule: LearningRateSchedule { optimizerStep.schedule }
    /// Updates per pass over the data.
    public let stepsPerEpoch: Int
    public internal(set) var state: TrainerState
    /// The run's generator, handed to the objective each step and saved with checkpoints.
    public internal(set) var rng: SplitMix64
    var loader: DataLoader
    let progress: ProgressDisplay
    var metrics: MetricsLog?
    /// Event files for TensorBoard, when the recipe reports to it.
    var tensorBoard: TensorBoardLog?
    /// The latest evaluation, for the best-checkpoint bookkeeping at the next save.
    var lastEvaluation: [String: Double]?

    /// Prepares a run: plans its length, and resumes from a checkpoint when the options say so.
    /// - Throws: `TrainingError` when the data cannot fill one micro-batch, the output directory
    ///   holds another run, or the checkpoint to resume from is missing or incomplete.
    public init(objective: any TrainingObjective, options: TrainerOptions) throws {
        self.objective = objective
        self.options = options
        let count = objective.trainExampleCount
        guard count >= options.batchSize else {
            throw TrainingError(.data, "\(count) training examples cannot fill one micro-batch of \(options.batchSize); lower per_device_train_batch_size or add data")
        }
        loader = try DataLoader(exampleCount: count, batchSize: options.batchSize, seed: options.dataSeed,
                                lengths: options.groupByLength ? objective.trainExampleLengths : nil)
        stepsPerEpoch = max(1, loader.batchesPerEpoch / options.gradientAccumulationSteps)
        let total = options.maxSteps > 0 ? options.maxSteps : max(1, Int((options.numTrainEpochs * Double(stepsPerEpoch)).rounded(.up)))
        let warmup = LearningRateSchedule.warmupSteps(steps: options.warmupSteps, ratio: options.warmupRatio, totalSteps: total)
        let schedule = LearningRateSchedule(kind: options.scheduleKind, learningRate: options.learningRate, warmupSteps: warmup, totalSteps: total,
                                           decayRatio: options.decayRatio)
        optimizerStep = OptimizerStep(parameters: objective.trainable, adam: options.adam, schedule: schedule, maxGradNorm: options.maxGradNorm)
        state = TrainerState(maxSteps: total, numTrainEpochs: options.numTrainEpochs, loggingSteps: options.loggingSteps,
                             evalSteps: options.evalSteps, saveSteps: options.saveSteps, trainBatchSize: options.batchSize)
        rng = SplitMix64(seed: options.seed ^ 0x5EED_0F_7AA1_0000)
        progress = ProgressDisplay(style: options.progress, totalSteps: total)
        try prepareOutput()
    }

    /// Optimizer updates the run is planned for.
    public var totalSteps: Int { schedule.totalSteps }

    // MARK: - The loop

    /// What a finished run reports.
    public struct Summary: Sendable {
        public var globalStep: Int
        /// Mean loss of the updates this session ran.
        public var trainLoss: Double
        /// Seconds spent in updates (evaluation and saving excluded).
        public var trainSeconds: Double
        /// Real tokens per second over those updates; `paddedTokensPerSecond` counts padding too.
        public var tokensPerSecond: Double, paddedTokensPerSecond: Double
        /// The final evaluation, empty without eval data.
        public var evaluation: [String: Double]
    }

    /// Runs updates until `totalSteps`, logging, evaluating and saving on schedule, then saves
    /// the final model into the output directory.
    @discardableResult
    public func train() throws -> Summary {
        var window = StepStatistics(), windowSteps = 0, windowSeconds = 0.0
        var session = StepStatistics(), sessionSteps = 0, sessionSeconds = 0.0
        var evaluatedAt = -1
        var lastGradNorm = 0.0, lastLR = 0.0
        while state.globalStep < totalSteps {
            var stats = StepStatistics()
            let seconds = timed { (stats, lastGradNorm, lastLR) = step() }
            window.merge(stats); windowSteps += 1; windowSeconds += seconds
            session.merge(stats); sessionSteps += 1; sessionSeconds += seconds
            let s = state.globalStep
            let eta = sessionSeconds / Double(sessionSteps) * Double(totalSteps - s)
            progress.update(step: s, loss: window.loss / Double(windowSteps), tokensPerSecond: Double(window.tokens) / max(windowSeconds, 1e-9),
                            etaSeconds: eta)
            if s % options.loggingSteps == 0 || s == totalSteps {
                try log(window, steps: windowSteps, seconds: windowSeconds, gradNorm: lastGradNorm, lr: lastLR, eta: eta)
                window = StepStatistics(); windowSteps = 0; windowSeconds = 0
            }
            if objective.hasEvaluationData, let every = options.evalSteps, s % every == 0 {
                try evaluate()
                evaluatedAt = s
            }
            if options.outputDir != nil, s % options.saveSteps == 0 || s == totalSteps {
                if s == totalSteps, objective.hasEvaluationData, evaluatedAt != s {
                    try evaluate()  // the final checkpoint records the final evaluation
                    evaluatedAt = s
                }
                try saveCheckpoint()
            }
        }
        if objective.hasEvaluationData, evaluatedAt != state.globalStep { try evaluate() }
        try saveFinalModel()
        progress.finish()
        return Summary(globalStep: state.globalStep, trainLoss: sessionSteps > 0 ? session.loss / Double(sessionSteps) : 0,
                       trainSeconds: sessionSeconds, tokensPerSecond: Double(session.tokens) / max(sessionSeconds, 1e-9),
                       paddedTokensPerSecond: Double(session.paddedTokens) / max(sessionSeconds, 1e-9),
                       evaluation: lastEvaluation ?? [:])
    }

    /// One optimizer update: the next micro-batches, their summed gradient, clipping, AdamW.
    /// - Returns: the step's figures, the gradient norm before clipping, and the rate used.
    public func step() -> (StepStatistics, gradNorm: Double, learningRate: Double) {
        let microBatches = (0..<options.gradientAccumulationSteps).map { _ in loader.nextIndices() }
        optimizerStep.zeroGradients()
        let stats = objective.accumulateGradients(microBatches: microBatches, rng: &rng)
        let update = optimizerStep.apply()
        state.globalStep = optimizerStep.step
        state.epoch = Double(state.globalStep * options.gradientAccumulationSteps) / Double(loader.batchesPerEpoch)
        state.numInputTokensSeen += stats.tokens
        state.loaderPosition = loader.position
        return (stats, update.gradNorm, update.learningRate)
    }

    // MARK: - Logging and evaluation

    private func log(_ window: StepStatistics, steps: Int, seconds: Double, gradNorm: Double, lr: Double, eta: Double) throws {
        let loss = window.loss / Double(steps)
        state.logHistory.append(["epoch": state.epoch, "step": Double(state.globalStep), "loss": loss,
                                 "grad_norm": gradNorm, "learning_rate": lr])
        var line: [String: Any] = ["step": state.globalStep, "epoch": state.epoch, "loss": loss, "lr": lr, "grad_norm": gradNorm,
                                   "tokens_per_s": Double(window.tokens) / max(seconds, 1e-9),
                                   "padded_tokens_per_s": Double(window.paddedTokens) / max(seconds, 1e-9)]
        for (k, v) in window.means { line[k] = v }
        try metrics?.append(line)
        try tensorBoard?.append(line)
        var text = String(format: "step %d/%d  epoch %.2f  loss %.4f  lr %.3g  grad_norm %.3f  %.0f tokens/s  ETA %@",
                          state.globalStep, totalSteps, state.epoch, loss, lr, gradNorm,
                          Double(window.tokens) / max(seconds, 1e-9), ProgressDisplay.clock(eta))
        for (k, v) in window.means.sorted(by: { $0.key < $1.key }) { text += String(format: "  %@ %.4f", k, v) }
        progress.plainLine(text)
    }

    /// Runs the objective's evaluation and logs it (metrics file, log history, a line).
    @discardableResult
    public func evaluate() throws -> [String: Double] {
        objective.trainable.setTraining(false)
        let results = objective.evaluate()
        objective.trainable.setTraining(true)
        guard !results.isEmpty else { return results }
        lastEvaluation = results
        var entry = results
        entry["epoch"] = state.epoch
        entry["step"] = Double(state.globalStep)
        state.logHistory.append(entry)
        var line: [String: Any] = ["step": state.globalStep, "epoch": state.epoch]
        for (k, v) in results { line[k] = v }
        try metrics?.append(line)
        try tensorBoard?.append(line)
        let text = results.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  ")
        progress.message("eval at step \(state.globalStep): " + text)
        return results
    }

    /// Seconds `body` took.
    private func timed(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}
