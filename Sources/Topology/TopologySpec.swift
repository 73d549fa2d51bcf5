import Training

/// A topology file after parsing and validation: every default resolved, every path as written
/// (relative paths are relative to the directory `rlhf launch` runs in). Docs/topology.md is the
/// reference for each field.
public struct TopologySpec: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(file: String = "", run: RunSettings, hosts: [String: HostSpec], models: ModelSources,
                roles: [TopologyRole: RoleSpec], transport: TransportSpec, algorithm: RLAlgorithmConfig,
                data: DataSources, schedule: Schedule, warnings: [String] = []) {
        self.file = file
        self.run = run
        self.hosts = hosts
        self.models = models
        self.roles = roles
        self.transport = transport
        self.algorithm = algorithm
        self.data = data
        self.schedule = schedule
        self.warnings = warnings
    }

    /// The file it was read from (for messages); empty for a spec built in code.
    public var file: String
    /// `run:` the run's name, directory and seed.
    public var run: RunSettings
    /// `hosts:` by name; `local` (127.0.0.1) when the file has none.
    public var hosts: [String: HostSpec]
    /// `models:` where each model comes from.
    public var models: ModelSources
    /// `roles:` placement of every active role (critic only for PPO).
    public var roles: [TopologyRole: RoleSpec]
    /// `transport:` how roles reach each other.
    public var transport: TransportSpec
    /// `algorithm:` the algorithm's settings (its defaults, then the file's overrides).
    public var algorithm: RLAlgorithmConfig
    /// `data:` prompts and optional extras.
    public var data: DataSources
    /// `schedule:` how long, and how often to save, evaluate and log.
    public var schedule: Schedule
    /// Things that are allowed but probably not meant (e.g. a critic role under GRPO).
    public var warnings: [String]

    /// The roles this run starts, in the fixed order (the critic only when the algorithm uses one).
    public var activeRoles: [TopologyRole] { roles.keys.sorted() }

    /// The ZeroMQ endpoint `role` binds (and the others connect to):
    /// `inproc://<role>`, `ipc://<transport.directory>/<role>.sock`, or
    /// `tcp://<host address>:<port>` with the role's `port`, else `base_port + role.index`.
    /// Replica k > 0 of a replicated role binds `<role>-k` (inproc, ipc) or its own port.
    public func endpoint(for role: TopologyRole, replica: Int = 0) -> String {
        let name = replica == 0 ? role.rawValue : "\(role.rawValue)-\(replica)"
        switch transport.kind {
        case .inproc:
            return "inproc://\(name)"
        case .ipc:
            return "ipc://\(transport.directory)/\(name).sock"
        case .tcp:
            let address = roles[role].flatMap { hosts[$0.host]?.address } ?? HostSpec.defaultAddress
            return "tcp://\(address):\(port(for: role, replica: replica))"
        }
    }

    /// The TCP port of `role`: its `port:` if given, else `base_port + role.index`. Replica k > 0
    /// takes `port + k` when the role names its port, else a port after every role's first:
    /// `base_port + 5 +` the replicas beyond the first of the roles before it, `+ k - 1`.
    public func port(for role: TopologyRole, replica: Int = 0) -> Int {
        if let given = roles[role]?.port { return given + replica }
        guard replica > 0 else { return transport.basePort + role.index }
        let before = TopologyRole.allCases.prefix(while: { $0 != role }).reduce(0) { $0 + max(0, (roles[$1]?.replicas ?? 1) - 1) }
        return transport.basePort + TopologyRole.allCases.count + before + replica - 1
    }

    /// Copies of `role` (1 unless `replicas:` says more).
    public func replicas(of role: TopologyRole) -> Int { max(1, roles[role]?.replicas ?? 1) }

    /// The roles placed on host `name`, in the fixed order.
    public func roles(onHost name: String) -> [TopologyRole] {
        activeRoles.filter { roles[$0]?.host == name }
    }
}

/// `run:` section.
public struct RunSettings: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(name: String, directory: String, seed: UInt64 = 42, reportTo: [String] = []) {
        self.name = name
        self.directory = directory
        self.seed = seed
        self.reportTo = reportTo
    }

    /// `name`: shown in logs and messages (the run id). Default: the file's name without extension.
    public var name: String
    /// `directory`: the run directory (checkpoints, logs, metrics). Default `runs/<name>`.
    public var directory: String
    /// `seed`: the seed every role derives its generators from. Default 42.
    public var seed: UInt64
    /// `report_to`: where metrics go besides metrics.jsonl, as in recipes: `[tensorboard]` (or
    /// `all`) writes TensorBoard event files into `<directory>/runs`; `none` or empty: nothing more.
    public var reportTo: [String]
}

/// One entry of `hosts:`.
public struct HostSpec: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(name: String, address: String = HostSpec.defaultAddress) {
        self.name = name
        self.address = address
    }

    /// The loopback address every host defaults to.
    public static let defaultAddress = "127.0.0.1"
    /// The key in `hosts:`.
    public var name: String
    /// `address`: where the host's roles bind and are reached (TCP). Default 127.0.0.1.
    public var address: String

    /// Whether `address` is this machine (loopback or `localhost`).
    public var isLoopback: Bool {
        address == "localhost" || address == "::1" || address.hasPrefix("127.")
    }
}

/// `models:` section.
public struct ModelSources: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(actorPath: String, actorLoRA: LoRASettings? = nil, referencePath: String, reward: RewardSource, criticPath: String?) {
        self.actorPath = actorPath
        self.actorLoRA = actorLoRA
        self.referencePath = referencePath
        self.reward = reward
        self.criticPath = criticPath
    }

    /// `actor.path`: the SFT model the policy starts from.
    public var actorPath: String
    /// `actor.lora`: adapters to train instead of all weights; nil trains every weight.
    public var actorLoRA: LoRASettings?
    /// `reference.path`: the frozen model of the KL penalty. Default: the actor's path.
    public var referencePath: String
    /// `reward`: where scores come from.
    public var reward: RewardSource
    /// `critic.path`: the value model's starting point (PPO). Default: the reward model's path;
    /// nil when the algorithm has no critic.
    public var criticPath: String?
}

/// `models.actor.lora`: `false`, `true` (defaults) or a mapping.
public struct LoRASettings: Sendable, Equatable {
    /// `r`: adapter rank. Default 8 (PEFT's).
    public var r = 8
    /// `alpha`: scale numerator (the update is scaled by alpha / r). Default 16.
    public var alpha = 16.0
    /// `dropout` on the adapter input. Default 0.05.
    public var dropout = 0.05
    /// `target_modules`: PEFT module names, or `all-linear`. Default [q_proj, v_proj].
    public var targetModules = ["q_proj", "v_proj"]

    public init() {}
}

/// `models.reward`: one of three sources.
public enum RewardSource: Sendable, Equatable {
    /// `path`: a step-2 reward model directory.
    case model(path: String)
    /// `rule`: a built-in checker; `demo-tasks` judges the demo tasks' answers.
    case rule(String)
    /// `program`: an external scorer run as `command` (argv), `timeout_seconds` per call.
    case program(command: [String], timeoutSeconds: Double)

    /// The built-in rules `rule:` accepts.
    public static let knownRules = ["demo-tasks"]

    /// The model directory, for a reward model.
    public var modelPath: String? {
        if case .model(let path) = self { return path }
        return nil
    }
}

/// One entry of `roles:`.
public struct RoleSpec: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(host: String, device: String = "cpu", threads: Int = 1, cores: [Int]? = nil, port: Int? = nil, replicas: Int = 1,
                restarts: Int? = nil) {
        self.restarts = restarts
        self.host = host
        self.device = device
        self.threads = threads
        self.cores = cores
        self.port = port
        self.replicas = replicas
    }

    /// `host`: a key of `hosts:`. Default: the only host, when there is exactly one.
    public var host: String
    /// `restarts`: how many times the launcher restarts a process of this role that dies (each
    /// replica its own budget); nil: the default (`defaultRestarts` for reference and reward,
    /// which hold no state; 0 for the others, whose death stops the run for `--resume`).
    public var restarts: Int?
    public static let defaultRestarts = 3
    /// `device`: `cpu` is the only device this build runs.
    public var device: String
    /// `threads`: compute threads (OPENBLAS_NUM_THREADS and the role's own pool). Default 1.
    public var threads: Int
    /// `cores`: CPUs to pin the role's process to; nil lets the kernel choose.
    public var cores: [Int]?
    /// `port`: TCP port (transport `tcp`); nil takes `base_port + role index`.
    public var port: Int?
    /// `replicas`: copies of the role, each its own process with its own port (reference and
    /// reward; the others run one).
    public var replicas: Int
}

/// `transport:` section.
public struct TransportSpec: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(kind: Kind = .ipc, basePort: Int = 5555, directory: String,
                requestTimeoutSeconds: Double = TransportSpec.defaultRequestTimeoutSeconds) {
        self.kind = kind
        self.basePort = basePort
        self.directory = directory
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// 600 s: long enough for the slowest request of a real run (a generation or an update of a
    /// large batch on CPU), short enough that a hung role stops the run the same hour.
    public static let defaultRequestTimeoutSeconds = 600.0
    /// The largest `request_timeout_seconds` taken: one day. A request longer than that is a
    /// hung role, and a bound keeps the value inside what `Duration` holds.
    public static let maxRequestTimeoutSeconds = 86_400.0

    /// `kind`.
    public enum Kind: String, Sendable, CaseIterable {
        /// Every role in one process (ZeroMQ inproc).
        case inproc
        /// One process per role on one host (Unix domain sockets).
        case ipc
        /// Processes on one or several hosts (TCP).
        case tcp
    }

    /// `kind`: default `ipc`.
    public var kind: Kind
    /// `base_port`: the first TCP port (roles take base_port + their index). Default 5555.
    public var basePort: Int
    /// `directory`: where ipc sockets live. Default `<run directory>/sockets`.
    public var directory: String
    /// `probe_interval_seconds`: how often `rlhf launch` pings each role process it started, and
    /// the coordinator a stateless role while a request to it is out (answered by the role's I/O
    /// thread, so a busy role answers too). Default 1.
    public var probeIntervalSeconds: Double = 1
    /// `silence_limit_seconds`: a role process that answered a ping once and then answers none
    /// for this long is killed by its launcher and handled as dead (restarted within its budget,
    /// or the run stops naming it). Default 10: a role's I/O thread answers within milliseconds
    /// even while the role computes, so ten seconds of silence is a stopped or wedged process,
    /// not a busy one.
    public var silenceLimitSeconds = TransportSpec.defaultSilenceLimitSeconds
    /// `coordinator_silence_limit_seconds` as given; nil takes `coordinatorSilenceFactor` times
    /// `silenceLimitSeconds`.
    public var givenCoordinatorSilenceLimitSeconds: Double?

    /// `silence_limit_seconds` when the file gives none (why ten: above).
    public static let defaultSilenceLimitSeconds = 10.0
    /// The coordinator waits three launcher limits by default: one for the launcher to find the
    /// role silent, and two for the kill, the new process's start and its model's load.
    public static let coordinatorSilenceFactor = 3.0

    /// How long the coordinator waits for a stateless role it has a request out to to answer a
    /// ping again (its old process or the launcher's new one) before it stops the run; longer
    /// than `silenceLimitSeconds`, so that a silent role is replaced before the run gives up.
    public var coordinatorSilenceLimitSeconds: Double {
        givenCoordinatorSilenceLimitSeconds ?? Self.coordinatorSilenceFactor * silenceLimitSeconds
    }

    /// `request_timeout_seconds`: how long the coordinator waits for a role's answer to one
    /// request before it stops the run naming the role and its endpoint. Default 600.
    public var requestTimeoutSeconds: Double
    /// `keys`: the directory `rlhf keys` wrote (`RunKeyDirectory`): with `tcp`, every socket
    /// uses CURVE with its host's key pair and accepts only the run's keys. Nil: none given.
    public var keys: String?
    /// `insecure`: tcp without CURVE (anyone who reaches a port may speak), allowed only when
    /// every host is loopback. Default false: tcp needs `keys`.
    public var insecure = false
}

/// `data:` section.
public struct DataSources: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(prompts: String, evalPrompts: String? = nil, ptx: String? = nil, promptTemplate: String? = nil) {
        self.prompts = prompts
        self.evalPrompts = evalPrompts
        self.ptx = ptx
        self.promptTemplate = promptTemplate
    }

    /// `prompts`: a JSONL file of {"prompt": ...} records, or any file Datasets reads prompts from.
    public var prompts: String
    /// `eval_prompts`: held-out prompts for evaluation.
    public var evalPrompts: String?
    /// `ptx`: pre-training text mixed into the actor's loss (weight `algorithm.ptx_coef`).
    public var ptx: String?
    /// `prompt_template`: frames each prompt's user message, `{prompt}` marking where it goes,
    /// before the actor's chat template renders the conversation; nil leaves it as it is.
    public var promptTemplate: String?
}

/// `schedule:` section.
public struct Schedule: Sendable, Equatable {
    /// Memberwise, for specs built in code (validate them with `TopologyValidator.validate`).
    public init(iterations: Int = 100, saveEvery: Int = 50, evalEvery: Int = 0, evalSize: Int = 100, logEvery: Int = 1) {
        self.iterations = iterations
        self.saveEvery = saveEvery
        self.evalEvery = evalEvery
        self.evalSize = evalSize
        self.logEvery = logEvery
    }

    /// `iterations`: generate-score-train rounds. Default 100.
    public var iterations: Int
    /// `save_every`: iterations between checkpoints (0 = only at the end). Default 50.
    public var saveEvery: Int
    /// `eval_every`: iterations between evaluations (0 = never). Default 0.
    public var evalEvery: Int
    /// `eval_size`: how many prompts each evaluation answers, the first of `data.eval_prompts`.
    /// Default 100.
    public var evalSize: Int
    /// `log_every`: iterations between metric lines. Default 1.
    public var logEvery: Int
}
