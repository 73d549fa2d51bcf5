import Model

/// The settings of step 3 (PPO, GRPO, RLOO): what the roles, the experience buffer and the
/// trainers read. A topology's `algorithm:` section and a `rlhf train ppo|grpo|rloo` recipe use
/// the same keys (the snake_case names in the comments).
///
/// Defaults are DeepSpeed-Chat's step 3 (`training/step3_rlhf_finetuning/main.py` and
/// `ppo_trainer.py`) for PPO, and trl's `GRPOConfig` / `RLOOConfig` for the critic-free methods;
/// Docs/algorithms.md gives each default's source.
public struct RLAlgorithmConfig: Sendable, Equatable, Codable {
    /// `algorithm`: which method.
    public enum Algorithm: String, Sendable, Codable, CaseIterable {
        /// InstructGPT PPO with a critic and GAE.
        case ppo
        /// Group-relative advantages, no critic (Shao et al. 2024, arXiv 2402.03300).
        case grpo
        /// REINFORCE leave-one-out baseline, no critic (Ahmadian et al. 2024, arXiv 2402.14740).
        case rloo
    }

    /// Estimators of KL(π || π_ref) from samples of π (Schulman, "Approximating KL divergence").
    public enum KLEstimator: String, Sendable, Codable, CaseIterable {
        /// log π - log π_ref: unbiased, high variance, may be negative (DeepSpeed-Chat, InstructGPT).
        case k1
        /// ½ (log π - log π_ref)²: low variance, biased.
        case k2
        /// (r - 1) - log r with r = π_ref / π: unbiased, never negative (GRPO).
        case k3
    }

    public var algorithm = Algorithm.ppo

    // MARK: - Reward shaping

    /// `kl_coef`: β of the per-token KL penalty folded into the reward (PPO, RLOO) or added to
    /// the loss (GRPO). DeepSpeed-Chat `kl_ctl = 0.1`.
    public var klCoef = 0.1
    /// `kl_estimator`: k1 for PPO as DeepSpeed-Chat; GRPO uses k3 in its loss.
    public var klEstimator = KLEstimator.k1
    /// `adaptive_kl`: adjust `kl_coef` towards `target_kl` (Ziegler et al. 2019, arXiv 1909.08593).
    public var adaptiveKL = false
    /// `target_kl`, `kl_horizon`: the adaptive controller's target and horizon (Ziegler's 6 and 10000).
    public var targetKL = 6.0
    public var klHorizon = 10_000.0
    /// `reward_clip`: the score is clipped to ±this before it enters the reward; nil (`null`)
    /// leaves it raw. PPO: DeepSpeed-Chat `clip_reward_value = 5`. RLOO: off by default, as trl's
    /// RLOOTrainer (`reward_clip_range=None`), and applied when set. GRPO never reads it: its
    /// advantage is already normalised within each group.
    public var rewardClip: Double? = 5.0
    /// `missing_eos_penalty`: subtracted from the score of a response that never ended
    /// (trl's option of the same name); nil leaves such responses alone.
    public var missingEOSPenalty: Double?

    // MARK: - Advantages

    /// `gamma`, `lambda`: GAE's discount and trace decay. DeepSpeed-Chat `gamma = 1.0`, `lam = 0.95`.
    public var gamma = 1.0
    public var lambda = 0.95
    /// `whiten_advantages`: normalise advantages over the batch. DeepSpeed-Chat does not.
    public var whitenAdvantages = false
    /// `scale_rewards`: GRPO divides group-relative advantages by the group's std (trl's default).
    public var scaleRewards = true

    // MARK: - Losses

    /// `policy_clip`: PPO's ε on the probability ratio. DeepSpeed-Chat `cliprange = 0.2`.
    public var policyClip = 0.2
    /// `value_clip`: ε of the clipped value loss. DeepSpeed-Chat `cliprange_value = 0.2`.
    public var valueClip = 0.2
    /// `shuffle_mini_batches`: cut each pass over a batch into mini-batches of rows in a seeded
    /// random order (trl's trainers shuffle). Off, rows go in order as DeepSpeed-Chat iterates
    /// them; with groups of samples per prompt that puts one prompt's samples in one update.
    public var shuffleMiniBatches = true
    /// `share_prompts`: the answers to one prompt run as one packed row, the prompt once and each
    /// answer attending to it and to itself (`ExperienceBatch.responseLayout`), in the actor's
    /// update and old log-probabilities, the reference and a reward model: the same figures up to float
    /// rounding, for a fraction of the tokens when answers are short. Off, each row runs alone.
    /// No effect with one answer per prompt.
    public var sharePrompts = true
    /// `ppo_epochs`: passes over each batch of experiences. DeepSpeed-Chat `ppo_epochs = 1`.
    public var ppoEpochs = 1
    /// `ptx_coef`: weight of the pre-training (unsupervised) loss when pre-training data is given.
    /// DeepSpeed-Chat `unsup_coef = 27.8` (InstructGPT's γ).
    public var ptxCoef = 27.8
    /// `actor_ema`: decay of an exponential moving average of the actor's weights, saved beside
    /// it; nil turns it off. DeepSpeed-Chat `--enable_ema` uses 0.992.
    public var actorEMA: Double?

    // MARK: - Optimisation

    /// `actor_learning_rate`, `critic_learning_rate`. DeepSpeed-Chat 9.65e-6 and 5e-6.
    public var actorLearningRate = 9.65e-6
    public var criticLearningRate = 5e-6
    /// `weight_decay`. DeepSpeed-Chat 0.
    public var weightDecay = 0.0
    /// `max_grad_norm`: clipping of each trainer's global gradient norm; 0 disables it.
    public var maxGradNorm = 1.0
    /// `lr_scheduler_type`: the rate after warm-up, over the planned updates. DeepSpeed-Chat's
    /// step-3 `main.py` defaults to cosine.
    public var lrSchedulerType = LearningRateSchedule.Kind.cosine
    /// `warmup_steps`: linear warm-up of both rates, in updates. DeepSpeed-Chat `num_warmup_steps = 100`.
    public var warmupSteps = 100
    /// `lr_decay_ratio`: with `warmup_stable_decay`, the last fraction of the planned updates over
    /// which the rates fall to 0 along a half cosine (transformers' `num_decay_steps`, as a
    /// fraction so that it follows `iterations`); the other schedules ignore it.
    public var lrDecayRatio = 0.2
    /// `mini_batch_size`: experiences per optimizer update. DeepSpeed-Chat
    /// `per_device_training_batch_size = 16`.
    public var miniBatchSize = 16

    // MARK: - Generation

    /// `prompts_per_iteration`: prompts the actor answers per iteration. DeepSpeed-Chat
    /// `per_device_generation_batch_size = 16`.
    public var promptsPerIteration = 16
    /// `samples_per_prompt`: answers per prompt; GRPO and RLOO need at least 2 (trl's
    /// `num_generations`). PPO uses 1.
    public var samplesPerPrompt = 1
    /// `max_new_tokens`. DeepSpeed-Chat `max_answer_seq_len = 256`.
    public var maxNewTokens = 256
    /// `max_prompt_length`: longer prompts are cut from the left. DeepSpeed-Chat `max_prompt_seq_len = 256`.
    public var maxPromptLength = 256
    /// `temperature`, `top_k`, `top_p`: how the actor samples its answers (1, 0, 1: the model's
    /// own distribution, which PPO's ratio assumes).
    public var temperature = 1.0
    public var topK = 0
    public var topP = 1.0
    /// `dynamic_sampling_prompts`: DAPO's dynamic sampling (Yu et al. 2025, arXiv 2503.14476,
    /// section 3.2) for GRPO and RLOO. A group whose answers all score the same has no advantage
    /// and gives no gradient; with this set to N (at least `prompts_per_iteration`), N prompts
    /// are answered each iteration and the first `prompts_per_iteration` groups whose scores
    /// differ are kept (groups without signal fill in, in order, when too few have one). 0, the
    /// default, turns it off. DAPO samples until the batch is full; a fixed N keeps the prompts
    /// of iteration i a function of i, so a resumed run draws the same ones.
    public var dynamicSamplingPrompts = 0
    /// `generation_precision`: the weights the actor's sampling multiplies by, `bfloat16` (a
    /// copy rounded to nearest even, sums in float32) or `float32`. Scoring and the update are
    /// float32 either way, and the old log-probabilities of PPO's ratio are recomputed in float32,
    /// so the ratio stays exact; bfloat16 changes only which tokens are drawn (Docs/models.md).
    public var generationPrecision = GenerationPrecision.bfloat16

    // MARK: - Pipelining

    /// `max_staleness`: how many policy versions behind the trainer an experience may be
    /// generated. 0 is strictly on-policy, synchronous PPO.
    public var maxStaleness = 0

    public init() {}

    /// A step-3 trainer's optimizer: AdamW with `weight_decay`, the schedule at `rate` over
    /// `totalUpdates`, clipping at `max_grad_norm`.
    public func optimizer(for trainable: any TrainableParameters, rate: Double, totalUpdates: Int) -> OptimizerStep {
        OptimizerStep(parameters: trainable, adam: AdamW.Hyperparameters(weightDecay: Float(weightDecay)),
                      schedule: schedule(rate: rate, totalUpdates: totalUpdates), maxGradNorm: maxGradNorm)
    }

    /// The learning-rate schedule of a trainer at `rate` over `totalUpdates`.
    public func schedule(rate: Double, totalUpdates: Int) -> LearningRateSchedule {
        LearningRateSchedule(kind: lrSchedulerType, learningRate: rate, warmupSteps: min(warmupSteps, totalUpdates),
                             totalSteps: totalUpdates, decayRatio: lrDecayRatio)
    }

    /// The defaults of `algorithm`. GRPO: trl's `num_generations = 8` answers per prompt and a k3
    /// KL in the loss with DeepSeekMath's β = 0.04 (arXiv 2402.03300 Sec. 4.2; trl's `beta`
    /// default until it became 0.0). RLOO: trl's `num_generations = 2` and `beta = 0.05` (the old
    /// RLOOConfig's `rloo_k = 2`, `kl_coef = 0.05`), the KL subtracted from the raw score as k1
    /// (trl's `reward_clip_range` is None by default, so neither method clips the score).
    public init(algorithm: Algorithm) {
        self.init()
        self.algorithm = algorithm
        switch algorithm {
        case .ppo:
            break
        case .grpo:
            samplesPerPrompt = 8
            klEstimator = .k3
            klCoef = 0.04
            rewardClip = nil
        case .rloo:
            samplesPerPrompt = 2
            klCoef = 0.05
            rewardClip = nil
        }
    }

    /// Whether the method trains a critic (PPO) or uses a group baseline.
    public var usesCritic: Bool { algorithm == .ppo }
    /// Prompts answered per iteration: `dynamic_sampling_prompts` when it is on.
    public var generatedPromptsPerIteration: Int { max(promptsPerIteration, dynamicSamplingPrompts) }
}
