import Model

/// The loop's settings: the part of a recipe the `Trainer` reads, separate so that tests and
/// other callers can drive the loop without a recipe file.
public struct TrainerOptions: Sendable {
    /// How progress is shown.
    public enum ProgressStyle: Sendable {
        /// A one-line bar redrawn in place when standard output is a terminal, plain lines otherwise.
        case automatic
        /// A plain line per logging step, whatever standard output is.
        case plain
        /// Nothing on standard output (metrics still go to the run directory).
        case silent
    }

    public var batchSize = 8
    public var gradientAccumulationSteps = 1
    public var learningRate = 5e-5
    public var scheduleKind = LearningRateSchedule.Kind.linear
    public var warmupSteps = 0
    public var warmupRatio = 0.0
    /// `warmup_stable_decay`'s decay as a fraction of the run.
    public var decayRatio = 0.2
    public var adam = AdamW.Hyperparameters()
    /// 0 disables clipping (the norm is still measured and logged).
    public var maxGradNorm = 1.0
    public var numTrainEpochs = 3.0
    /// Positive: the run's length in updates, whatever `numTrainEpochs` says.
    public var maxSteps = -1
    public var loggingSteps = 10
    public var evalSteps: Int?
    public var saveSteps = 500
    public var saveTotalLimit: Int?
    /// Batches of examples of similar length (see `DataLoader`): less padding, same examples per epoch.
    public var groupByLength = false
    /// Seeds the shuffles of the data loader.
    public var dataSeed: UInt64 = 42
    /// Seeds the run's generator (saved in rng_state.json).
    public var seed: UInt64 = 42
    /// The run directory; nil writes nothing (tests).
    public var outputDir: String?
    /// A checkpoint directory, or "latest".
    public var resumeFromCheckpoint: String?
    /// Start afresh even if `outputDir` holds checkpoints (they are removed).
    public var overwriteOutputDir = false
    public var progress = ProgressStyle.automatic
    /// Also write TensorBoard event files into `outputDir/runs` (`report_to: [tensorboard]`).
    public var reportToTensorBoard = false
    /// The resolved recipe, saved as `recipe.yaml` in the run directory and every checkpoint.
    public var recipeYAML: String?

    /// Defaults as in transformers' `TrainingArguments` (logging every 10 steps).
    public init() {}

    /// The loop settings of a recipe.
    /// - Parameter resolved: a validated recipe.
    public init(_ resolved: ResolvedRecipe) {
        let r = resolved.recipe
        batchSize = r.perDeviceTrainBatchSize
        gradientAccumulationSteps = r.gradientAccumulationSteps
        groupByLength = r.groupByLength
        learningRate = r.learningRate
        scheduleKind = LearningRateSchedule.Kind(rawValue: r.lrSchedulerType) ?? .linear
        warmupSteps = r.warmupSteps
        warmupRatio = r.warmupRatio
        decayRatio = r.lrDecayRatio
        adam = AdamW.Hyperparameters(beta1: Float(r.adamBeta1), beta2: Float(r.adamBeta2), eps: Float(r.adamEpsilon),
                                     weightDecay: Float(r.weightDecay))
        maxGradNorm = r.maxGradNorm
        numTrainEpochs = r.numTrainEpochs
        maxSteps = r.maxSteps
        loggingSteps = r.loggingSteps
        evalSteps = r.evalSteps
        saveSteps = r.saveSteps
        saveTotalLimit = r.saveTotalLimit
        dataSeed = UInt64(r.dataSeed ?? r.seed)
        seed = UInt64(r.seed)
        outputDir = r.outputDir
        resumeFromCheckpoint = r.resumeFromCheckpoint
        overwriteOutputDir = r.overwriteOutputDir
        recipeYAML = resolved.yaml
        reportToTensorBoard = r.reportTo.contains { $0 == "tensorboard" || $0 == "all" }
    }
}
