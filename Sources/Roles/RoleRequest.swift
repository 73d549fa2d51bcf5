import Training

/// What the coordinator asks the actor (or a generator) to generate.
public struct GenerateRequest: Sendable, Equatable {
    /// The batch's number, carried by every result about it.
    public var batchID: UInt64
    public var iteration: Int
    /// Prompt ids, each answered `samplesPerPrompt` times (rows grouped by prompt).
    public var prompts: [[Int32]]
    public var samplesPerPrompt: Int
    /// Seeds the sampling of this batch (the run's seed and the batch id).
    public var seed: UInt64
    /// The policy version to generate with: the generator waits for these weights, so which
    /// weights answer which batch is fixed by the schedule, not by timing.
    public var policyVersion: Int
    /// The batch row of the first sample (0 for a whole batch): sample i of prompt p draws from
    /// the seed's stream `firstRow + p * samplesPerPrompt + i`, so a part of a batch sent to
    /// one generator replica draws what the whole batch would.
    public var firstRow: Int

    public init(batchID: UInt64, iteration: Int, prompts: [[Int32]], samplesPerPrompt: Int, seed: UInt64, policyVersion: Int,
                firstRow: Int = 0) {
        self.batchID = batchID
        self.iteration = iteration
        self.prompts = prompts
        self.samplesPerPrompt = samplesPerPrompt
        self.seed = seed
        self.policyVersion = policyVersion
        self.firstRow = firstRow
    }
}

/// What a `save` writes: a checkpoint's share of a role, or the final actor.
public enum SaveTarget: Sendable, Equatable {
    /// The role's part of `checkpoint-N`, staged in the checkpoint's temporary directory, which
    /// the coordinator renames into place once every part is written.
    case checkpoint(iteration: Int)
    /// The actor's final model, staged for `final/`.
    case final
}

/// The requests roles answer. Each role answers the kinds of its own job and refuses the rest
/// with `RoleError(.badInput)`.
public enum RoleRequest: Sendable {
    /// actor, generator: sample responses and recompute their log-probabilities; the reply is a
    /// batch (`RoleReply.experiences`).
    case generate(GenerateRequest)
    /// generator: sample responses for a part of a batch, without recomputing (`RoleReply.rollout`).
    case sample(GenerateRequest)
    /// generator: log π_θold of each response token by the policy of `version`, with the training
    /// forward (`RoleReply.perToken`); a batch's rows cut over replicas keep the batch's widths.
    case policyLogProbs(ExperienceBatch, version: Int)
    /// actor: chunk `chunk` of the trainer's weights of policy `version`, for a generator
    /// (`RoleReply.weights`); waits until that version is trained.
    case weights(version: Int, chunk: Int)
    /// actor: greedy answers for evaluation, by the trainer's weights of `policyVersion` (the
    /// trainer holds exactly that version when asked, whatever the generator holds).
    case answer(prompts: [[Int32]], maxNewTokens: Int, policyVersion: Int)
    /// reference: log π_ref of each response token (`RoleReply.perToken`).
    case referenceLogProbs(ExperienceBatch)
    /// reward: one score per response (`RoleReply.scores`); `texts` are the prompts' user texts.
    case score(ExperienceBatch, texts: [String])
    /// critic: V(s_j) of each response token, by the critic's weights after `version` updates
    /// (the schedule names it, so which weights value which batch never depends on timing).
    case values(ExperienceBatch, version: Int)
    /// actor: a policy update on a batch of experiences (`RoleReply.trained`).
    case trainPolicy(ExperienceBatch)
    /// critic: a value update.
    case trainValue(ExperienceBatch)
    /// actor, critic: save weights and optimizer state into the role's own run directory, where
    /// `target` says (`CheckpointLayout`). A request never names a path.
    case save(SaveTarget)
    /// actor, critic: load what `save(.checkpoint(iteration))` wrote into `checkpoint-N/`.
    case restore(iteration: Int)
    /// every role, from the coordinator when the run ends: the role's process stops, exiting 0
    /// when `succeeded` and naming `reason` otherwise (so hosts without the coordinator learn
    /// that the run is over). Answered by the role's server itself (`done`).
    case finish(succeeded: Bool, reason: String)
    /// every role in another process, from the coordinator every `probe_interval_seconds`: the
    /// run goes on. A role process that heard it once and then nothing from the coordinator for
    /// `coordinator_silence_limit_seconds` ends (its coordinator's host is gone). Answered by
    /// the role's server itself (`done`).
    case keepAlive

    /// The kind's name in message envelopes and logs.
    public var kind: String {
        switch self {
        case .generate: "generate"
        case .sample: "sample"
        case .policyLogProbs: "policy_logprobs"
        case .weights: "weights"
        case .answer: "answer"
        case .referenceLogProbs: "reference_logprobs"
        case .score: "score"
        case .values: "values"
        case .trainPolicy: "train_policy"
        case .trainValue: "train_value"
        case .save: "save"
        case .restore: "restore"
        case .finish: "finish"
        case .keepAlive: "keep_alive"
        }
    }
}

/// What roles answer.
public enum RoleReply: Sendable {
    /// A generated batch: prompts, responses, behaviour and recomputed log-probabilities.
    case experiences(ExperienceBatch)
    /// (B, R) per-token values (reference log-probabilities, critic values).
    case perToken([Float])
    /// (B) scores.
    case scores([Float])
    /// A trainer's figures after an update, its policy version now, and digests of its
    /// trainable tensors after the update (recorded in the experience log for replays).
    case trained(metrics: [String: Double], version: Int, digests: [TensorDigest])
    /// Greedy responses.
    case responses([[Int32]])
    /// A part of a batch's rollout (`sample`).
    case rollout(RolloutPart)
    /// A chunk of a policy's weights (`weights`).
    case weights(WeightsChunk)
    /// Done (save, restore).
    case done
}

/// The logic of a role: a plain type that answers requests on its role's compute thread.
/// Its actor (`RoleWorker`) owns it and is the only caller.
public protocol RoleLogic: AnyObject {
    var role: RoleName { get }
    func handle(_ request: RoleRequest) throws -> RoleReply
}
