/// Which trainer a recipe drives.
public enum TrainingStage: String, Sendable, Codable, CaseIterable {
    /// (Continued) pre-training: causal LM loss on every token.
    case pt
    /// Supervised fine-tuning: loss on the assistant tokens of every turn.
    case sft
    /// Reward model: pairwise ranking loss on a scalar head.
    case rm
    /// Direct preference optimisation (or IPO) against a frozen reference.
    case dpo
}

/// Everything a training run is configured by, under the names trl and transformers users know.
///
/// Read from a YAML recipe and command-line flags by `RecipeParser`; every field is a key of
/// `RecipeKey.all`, where its meaning, default and the stages that use it are listed. Defaults
/// are transformers' `TrainingArguments` ones except where noted (logging every 10 steps rather
/// than 500, because runs here are small).
public struct TrainingRecipe: Sendable, Equatable {
    // MARK: Models
    /// The starting model: a HF checkpoint directory (config.json + safetensors).
    public var modelNameOrPath = ""
    /// Where `tokenizer.model` is; nil for the model directory.
    public var tokenizerNameOrPath: String?
    /// DPO's frozen reference model; nil for the policy's starting point.
    public var refModelNameOrPath: String?

    // MARK: Data
    /// Training data: files or directories, each optionally `PATH:WEIGHT` to mix several.
    public var trainFile: [String] = []
    /// Evaluation data; nil to hold out `evalFraction` of the training data, or to skip evaluation.
    public var evalFile: String?
    /// The record format of every file; nil to detect it per file.
    public var format: String?
    /// The chat template; nil for the one saved with the model, else `deepspeed-chat`.
    public var template: String?
    /// DeepSpeed-Chat's `data_split`, e.g. "6,2,2": one dataset shared by the three steps.
    public var dataSplit: String?
    /// Which share of `dataSplit` this run takes (0, 1 or 2); nil for the stage's own:
    /// 0 for pt and sft, 1 for rm and dpo.
    public var dataSplitIndex: Int?
    /// Fraction of the training data held out for evaluation when there is no eval file.
    public var evalFraction: Double?
    /// Keep only the first N training records (quick checks).
    public var maxTrainSamples: Int?
    /// Keep only the first N evaluation records.
    public var maxEvalSamples: Int?
    /// Skip records that do not fit (and report them) instead of stopping at the first.
    public var skipBadRecords = false
    /// Longest sequence in tokens, prompt and answer together (pt: the block size).
    public var maxSeqLength = 512
    /// The prompt's budget when a prompt and its answer do not fit; nil for half of `maxSeqLength`.
    public var maxPromptLength: Int?
    /// pt only: concatenate documents and cut them into `maxSeqLength` blocks (no padding).
    public var packing = true
    /// NEFTune's alpha: uniform noise on the input embeddings while training; nil for none.
    public var neftuneNoiseAlpha: Double?

    // MARK: Run
    /// Where metrics, checkpoints and the final model go.
    public var outputDir = ""
    /// Where metrics go besides `metrics.jsonl`: `tensorboard` (or `all`), or nothing.
    public var reportTo: [String] = []
    /// Allow starting afresh in an output directory that already holds checkpoints.
    public var overwriteOutputDir = false
    /// Examples per micro-batch (pairs, for rm and dpo).
    public var perDeviceTrainBatchSize = 8
    /// Examples per evaluation batch.
    public var perDeviceEvalBatchSize = 8
    /// Batch examples of similar length together (transformers' `group_by_length`), to pad less.
    public var groupByLength = false
    /// Micro-batches whose gradients are summed into one optimizer update.
    public var gradientAccumulationSteps = 1
    /// Peak learning rate.
    public var learningRate = 5e-5
    /// AdamW's decoupled weight decay (matrices and embeddings only).
    public var weightDecay = 0.0
    public var adamBeta1 = 0.9
    public var adamBeta2 = 0.999
    public var adamEpsilon = 1e-8
    /// Clip the global gradient norm to this; 0 turns clipping off.
    public var maxGradNorm = 1.0
    /// linear, cosine, constant, constant_with_warmup or warmup_stable_decay.
    public var lrSchedulerType = "linear"
    /// warmup_stable_decay: the last fraction of the run over which the rate falls to 0.
    public var lrDecayRatio = 0.2
    /// Warmup as a fraction of the run, used when `warmupSteps` is 0.
    public var warmupRatio = 0.0
    /// Warmup in optimizer updates; overrides `warmupRatio` when positive.
    public var warmupSteps = 0
    /// Passes over the training data, fractional allowed; ignored when `maxSteps` is positive.
    public var numTrainEpochs = 3.0
    /// Optimizer updates in the run; -1 to derive them from `numTrainEpochs`.
    public var maxSteps = -1
    /// Write a metrics line every N updates.
    public var loggingSteps = 10
    /// Evaluate every N updates; nil evaluates only at the end (when there is eval data).
    public var evalSteps: Int?
    /// Save a checkpoint every N updates (and always at the end).
    public var saveSteps = 500
    /// Keep at most N checkpoints (the best is never deleted); nil keeps all.
    public var saveTotalLimit: Int?
    /// Seeds the data order and any new weights (the reward model's score head).
    public var seed = 42
    /// Seeds data_split, the eval hold-out, mixing and the shuffles; nil for `seed`. Steps that
    /// share one dataset through `dataSplit` must use the same data seed, or their shares overlap.
    public var dataSeed: Int?
    /// Resume from this checkpoint directory, or "latest" for the newest in `outputDir`.
    public var resumeFromCheckpoint: String?

    // MARK: DPO
    /// β: how strongly DPO keeps the policy near the reference.
    public var beta = 0.1
    /// sigmoid (DPO) or ipo.
    public var lossType = "sigmoid"

    // MARK: LoRA (PEFT's names and defaults, except the recipe's lora_alpha 16 and dropout 0.05 as in trl's examples)
    /// Train adapters on a frozen base (pt, sft and dpo).
    public var useLora = false
    public var loraR = 8
    public var loraAlpha = 16.0
    public var loraDropout = 0.05
    public var loraTargetModules = ["q_proj", "v_proj"]

    /// A recipe with every default and nothing required filled in.
    public init() {}
}
