/// A pipeline file after parsing: what each of the three InstructGPT steps starts from and
/// which recipe it trains with. Relative paths are relative to the directory `rlhf pipeline`
/// runs in, as in recipes and topologies. Docs/pipeline.md describes every key.
public struct PipelineSpec: Sendable, Equatable {
    /// The file it was read from (for messages).
    public var file: String
    /// `output_dir`: the root every step writes under (`init/`, `base/`, `sft/`, `rm/`, `rl/`, ...).
    public var outputDirectory: String
    /// `tokenizer:` the SentencePiece model trained first.
    public var tokenizer: TokenizerSettings
    /// `model:` the randomly initialised model.
    public var model: ModelInit
    /// `pretrain:` optional pre-training of the random model; nil starts SFT from `init/`.
    public var pretrain: RecipeStep?
    /// `sft:` step 1.
    public var sft: RecipeStep
    /// `reward_model:` step 2.
    public var rewardModel: RecipeStep
    /// `rl:` step 3.
    public var rl: RLSettings
    /// `evaluation:` the held-out checks.
    public var evaluation: EvaluationSettings

    public init(file: String, outputDirectory: String, tokenizer: TokenizerSettings, model: ModelInit, pretrain: RecipeStep?,
                sft: RecipeStep, rewardModel: RecipeStep, rl: RLSettings, evaluation: EvaluationSettings) {
        self.file = file
        self.outputDirectory = outputDirectory
        self.tokenizer = tokenizer
        self.model = model
        self.pretrain = pretrain
        self.sft = sft
        self.rewardModel = rewardModel
        self.rl = rl
        self.evaluation = evaluation
    }
}

/// `tokenizer:` the arguments of `rlhf tokenizer train`.
public struct TokenizerSettings: Sendable, Equatable {
    /// `input`: text files or datasets (one path or a list).
    public var input: [String]
    /// `vocab_size`.
    public var vocabSize: Int
    /// `character_coverage`; nil takes the command's default (0.9995).
    public var characterCoverage: Double?
    /// `model_type`: bpe or unigram; nil takes the command's default (bpe).
    public var modelType: String?

    public init(input: [String], vocabSize: Int, characterCoverage: Double? = nil, modelType: String? = nil) {
        self.input = input
        self.vocabSize = vocabSize
        self.characterCoverage = characterCoverage
        self.modelType = modelType
    }
}

/// `model:` the arguments of `rlhf init`.
public struct ModelInit: Sendable, Equatable {
    /// `config`: an HF config.json whose vocab_size matches the tokenizer's.
    public var config: String
    /// `seed` of the initial weights. Default 0, as `rlhf init`'s.
    public var seed: UInt64

    public init(config: String, seed: UInt64 = 0) {
        self.config = config
        self.seed = seed
    }
}

/// `pretrain:`, `sft:`, `reward_model:` a training recipe and keys that override it.
public struct RecipeStep: Sendable, Equatable {
    /// `recipe`: a YAML recipe (recipes/*.yaml); nil when every key comes from `overrides`.
    public var recipe: String?
    /// `overrides`: recipe keys given as `--key value` flags after the recipe, in file order.
    /// `model_name_or_path` and `output_dir` are the pipeline's and may not be overridden.
    public var overrides: [(key: String, value: String)]

    public init(recipe: String?, overrides: [(key: String, value: String)] = []) {
        self.recipe = recipe
        self.overrides = overrides
    }

    public static func == (a: RecipeStep, b: RecipeStep) -> Bool {
        a.recipe == b.recipe && a.overrides.map(\.key) == b.overrides.map(\.key) && a.overrides.map(\.value) == b.overrides.map(\.value)
    }
}

/// `rl:` step 3.
public struct RLSettings: Sendable, Equatable {
    /// `topology`: the topology file `rlhf launch` runs; the pipeline writes a copy whose model
    /// paths and run directory are its own step outputs.
    public var topology: String

    public init(topology: String) { self.topology = topology }
}

/// `evaluation:` what every step's evaluation and the final comparison read.
public struct EvaluationSettings: Sendable, Equatable {
    /// `eval_file`: held-out records for `rlhf eval sft` / `eval rm` (loss, pair accuracy).
    public var evalFile: String
    /// `prompts`: held-out prompts the SFT and RLHF models answer.
    public var prompts: String
    /// `num_prompts`: how many of them. Default 300.
    public var numPrompts: Int
    /// `show`: answers printed side by side. Default 3.
    public var show: Int
    /// `max_new_tokens`: longest answer. Default 32, as `rlhf eval sft`'s.
    public var maxNewTokens: Int
    /// `batch_size`: prompts per generation batch. Default 16.
    public var batchSize: Int

    public init(evalFile: String, prompts: String, numPrompts: Int = 300, show: Int = 3, maxNewTokens: Int = 32, batchSize: Int = 16) {
        self.evalFile = evalFile
        self.prompts = prompts
        self.numPrompts = numPrompts
        self.show = show
        self.maxNewTokens = maxNewTokens
        self.batchSize = batchSize
    }
}
