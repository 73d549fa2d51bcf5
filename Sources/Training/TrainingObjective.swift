import Tensor

/// What one stage trains: its model(s), its examples and its loss. The `Trainer` loop is the
/// same for every stage and talks to the stage only through this protocol.
public protocol TrainingObjective: AnyObject {
    /// pt, sft, rm or dpo.
    var stage: TrainingStage { get }
    /// The parameters the optimizer updates.
    var trainable: any TrainableParameters { get }
    /// Training examples: what the data loader shuffles and batches (pairs, for rm and dpo).
    var trainExampleCount: Int { get }
    /// Each training example's length in tokens (a pair's: its longer sequence), for
    /// `group_by_length`.
    var trainExampleLengths: [Int] { get }
    /// Whether `evaluate()` has data to run on.
    var hasEvaluationData: Bool { get }

    /// Adds into `trainable.gradients` the gradient of one optimizer step's loss over
    /// `microBatches` (example indices, one array per micro-batch). The loss is normalised over
    /// the whole step, so any split into micro-batches gives the same gradient.
    /// - Parameters:
    ///   - microBatches: the step's micro-batches.
    ///   - rng: the run's generator, for stochastic features; saved with checkpoints.
    func accumulateGradients(microBatches: [[Int]], rng: inout SplitMix64) -> StepStatistics

    /// Metrics on the evaluation data, named as trl and transformers log them (`eval_loss`, ...).
    func evaluate() -> [String: Double]

    /// Files that belong with every saved model besides its weights (tokenizer, chat template).
    func saveCompanionFiles(to directory: String) throws
}

/// What one optimizer step (or a window of them) did.
public struct StepStatistics: Sendable {
    /// The step's loss (a sum of micro-batch shares; see `Losses`).
    public var loss = 0.0
    /// Real tokens run forward and backward (the tokens/s figure counts these).
    public var tokens = 0
    /// Tokens including padding: what the kernels computed on.
    public var paddedTokens = 0
    /// Stage metrics as weighted sums: `sums[name] / weights[name]` is the mean.
    public var sums: [String: Double] = [:]
    public var weights: [String: Double] = [:]

    public init() {}

    /// Adds `value` with `weight` to the metric `name`.
    public mutating func add(_ name: String, _ value: Double, weight: Double = 1) {
        sums[name, default: 0] += value * weight
        weights[name, default: 0] += weight
    }

    /// Adds another step's figures (loss included: average later by the number of steps).
    public mutating func merge(_ other: StepStatistics) {
        loss += other.loss
        tokens += other.tokens
        paddedTokens += other.paddedTokens
        for (k, v) in other.sums { sums[k, default: 0] += v }
        for (k, v) in other.weights { weights[k, default: 0] += v }
    }

    /// Each metric's weighted mean.
    public var means: [String: Double] {
        var out: [String: Double] = [:]
        for (k, s) in sums where (weights[k] ?? 0) > 0 { out[k] = s / weights[k]! }
        return out
    }
}
