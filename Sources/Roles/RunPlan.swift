import Messaging
import Model
import Training

/// Everything the roles of one run need to know, resolved from a topology file (or a
/// `rlhf train ppo` recipe) before anything starts. Every process of the run builds the same
/// plan from the same file, so they agree on endpoints, seeds and settings without talking.
public struct RunPlan: Sendable {
    /// Names the run in every message envelope; messages of another run are refused.
    public var runID: String
    /// The run directory: checkpoints, metrics, role logs.
    public var directory: String
    /// Seeds prompt order and sampling.
    public var seed: UInt64 = 42
    /// Also write each iteration's metrics as TensorBoard scalars into `<directory>/runs`.
    public var reportToTensorBoard = false
    public var algorithm = RLAlgorithmConfig()

    /// The step-1 model the actor starts from, and LoRA settings when only adapters train.
    public var actorModel: String
    public var actorLoRA: LoRAConfig?
    /// The frozen reference (by default the actor's starting model).
    public var referenceModel: String
    public var reward: Reward
    /// The critic's starting model (a step-2 reward model directory); nil without a critic.
    public var criticModel: String?

    /// Prompts to train on, and held-out prompts to evaluate on (optional).
    public var promptsFile: String
    public var evalPromptsFile: String?
    /// `data.prompt_template`: frames each prompt's user message (`{prompt}` marks where it goes)
    /// before the actor's chat template renders it, or nil.
    public var promptTemplate: String?
    /// Pre-training data for PPO-ptx (`data.ptx`), or nil.
    public var ptxFile: String?
    /// Prompts evaluated at each evaluation (the first N of the eval file).
    public var evalPrompts = 100

    /// Iterations (each: generate, score, train) and how often to save and evaluate.
    public var iterations = 20
    public var saveEvery = 10
    public var evalEvery = 0
    public var logEvery = 1

    /// Where each role listens (inproc://, ipc:// or tcp://): its first replica.
    public var endpoints: [RoleName: String]
    /// Where every replica of a replicated role listens, first replica first (roles with one
    /// replica need no entry).
    public var replicaEndpoints: [RoleName: [String]] = [:]
    /// Compute threads of each role (its own, never the process's).
    public var threads: [RoleName: Int] = [:]
    /// Cores each role's compute thread is pinned to, when given.
    public var cores: [RoleName: [Int]] = [:]
    /// How long a request to a role may take before the run stops with that role named
    /// (`transport.request_timeout_seconds` of the topology).
    public var requestTimeoutSeconds = 600.0
    /// How often a role is pinged: by its launcher always, by the coordinator while a request
    /// to a stateless role is out (`transport.probe_interval_seconds`).
    public var probeIntervalSeconds = 1.0
    /// How long a role process that answered once may answer no ping before its launcher kills
    /// it as dead (`transport.silence_limit_seconds`).
    public var silenceLimitSeconds = 10.0
    /// How long the coordinator waits for a stateless role it has a request out to to answer a
    /// ping again, its old process or a new one, before it stops the run: longer than
    /// `silenceLimitSeconds`, so the launcher replaces a silent role first
    /// (`transport.coordinator_silence_limit_seconds`, by default three times the silence limit).
    public var coordinatorSilenceLimitSeconds = 30.0
    /// How many times the launcher restarts a process of each role that dies.
    public var restarts: [RoleName: Int] = [:]
    /// CURVE keys of this process's host for its tcp sockets (`TopologySpec.curveSecurity`);
    /// nil: no tcp, or tcp marked insecure. Its secret key never prints (`CurveSecretKey`).
    public var curve: CurveSecurity?
    /// The host each role runs on (empty: all on one).
    public var hosts: [RoleName: String] = [:]

    /// Whether `role` runs on another host than the coordinator, sharing no directory with it:
    /// its checkpoint parts are written on its own host (`CheckpointLayout.savesAlone`).
    public func savesAlone(_ role: RoleName) -> Bool {
        guard let host = hosts[role], let coordinator = hosts[.buffer] else { return false }
        return host != coordinator
    }

    public init(runID: String, directory: String, actorModel: String, referenceModel: String? = nil, reward: Reward,
                criticModel: String?, promptsFile: String, endpoints: [RoleName: String]) {
        self.runID = runID
        self.directory = directory
        self.actorModel = actorModel
        self.referenceModel = referenceModel ?? actorModel
        self.reward = reward
        self.criticModel = criticModel
        self.promptsFile = promptsFile
        self.endpoints = endpoints
    }

    /// Where each replica of `role` listens.
    public func endpoints(of role: RoleName) -> [String] {
        replicaEndpoints[role] ?? endpoints[role].map { [$0] } ?? []
    }

    /// Every role (and replica) over `inproc://` in one process.
    public mutating func useInproc() {
        for role in roles {
            let count = endpoints(of: role).count
            endpoints[role] = "inproc://\(role.rawValue)"
            if count > 1 { replicaEndpoints[role] = (0..<count).map { $0 == 0 ? "inproc://\(role.rawValue)" : "inproc://\(role.rawValue)-\($0)" } }
        }
    }

    /// The seed the generator samples batch `iteration` with: a function of the run's seed and
    /// the iteration only, so any process (or a replay) derives the same one.
    public static func generationSeed(runSeed: UInt64, iteration: Int) -> UInt64 {
        runSeed &+ UInt64(iteration) &* 0x2545_F491_4F6C_DD1D
    }

    /// The roles this run has: no critic for GRPO and RLOO; a generator only when the topology
    /// places one (else the actor generates).
    public var roles: [RoleName] {
        RoleName.allCases.filter { ($0 != .critic || algorithm.usesCritic) && ($0 != .generator || hasGenerator) }
    }

    /// Whether generation runs in the `generator` role rather than inside the actor.
    public var hasGenerator: Bool { endpoints[.generator] != nil }

    /// Optimizer updates each trainer makes over the run (for the learning-rate schedule).
    public var plannedUpdates: Int {
        let rows = algorithm.promptsPerIteration * algorithm.samplesPerPrompt
        let perIteration = (rows + algorithm.miniBatchSize - 1) / max(1, algorithm.miniBatchSize) * max(1, algorithm.ppoEpochs)
        return max(1, perIteration * iterations)
    }

    /// Where scores come from.
    public enum Reward: Sendable, Equatable {
        /// A step-2 reward model directory.
        case model(path: String)
        /// The demo tasks' rule checker: 1 for a right answer, 0 for a wrong one.
        case demoRules
        /// An external program speaking JSON lines on stdin/stdout (Docs/roles.md).
        case program(command: [String], timeoutSeconds: Double)
    }
}
