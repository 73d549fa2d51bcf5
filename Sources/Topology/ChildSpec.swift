/// One process the supervisor starts: what to run, with which environment additions and CPUs,
/// and where its output goes.
public struct ChildSpec: Sendable, Equatable {
    /// Shown before each of its lines and in reports (a role's name).
    public var name: String
    /// The program and its arguments; `argv[0]` is a path, or a name looked up in PATH.
    public var argv: [String]
    /// Variables added to (or replacing those of) the supervisor's environment.
    public var environment: [String: String]
    /// CPUs the child is pinned to (sched_setaffinity before exec); nil inherits the supervisor's.
    public var cores: [Int]?
    /// Where the child's stdout and stderr are appended, line by line; nil keeps no file.
    public var logFile: String?
    /// The child's working directory; nil is the supervisor's.
    public var workingDirectory: String?
    /// Whether this child exiting with status 0 means the run is done (the coordinator); any
    /// other child exiting, or this one failing, is a failure of the run.
    public var finishesRun: Bool
    /// How many times the supervisor starts this child again when it dies (0: its death ends
    /// the run). For processes that hold no state: a new one does what the old one would have.
    public var restarts: Int

    /// - Parameters:
    ///   - name: shown before each line and in reports.
    ///   - argv: program and arguments.
    ///   - environment: additions to the supervisor's environment.
    ///   - cores: CPUs to pin to, or nil.
    ///   - logFile: file for the child's output, or nil.
    ///   - workingDirectory: the child's directory, or nil.
    ///   - finishesRun: a zero exit of this child ends the run successfully.
    public init(name: String, argv: [String], environment: [String: String] = [:], cores: [Int]? = nil,
                logFile: String? = nil, workingDirectory: String? = nil, finishesRun: Bool = false, restarts: Int = 0) {
        self.restarts = max(0, restarts)
        self.name = name
        self.argv = argv
        self.environment = environment
        self.cores = cores
        self.logFile = logFile
        self.workingDirectory = workingDirectory
        self.finishesRun = finishesRun
    }

    /// The environment a role process gets for its compute: OpenBLAS's thread count (read once
    /// when OpenBLAS loads, so it must be set before exec), the role's own `RLHF_THREADS`, and
    /// optionally OpenBLAS's core type (e.g. `HASWELL`, skipping its CPU probe).
    /// - Parameters:
    ///   - threads: the role's `threads:`.
    ///   - coreType: `OPENBLAS_CORETYPE`, or nil to let OpenBLAS detect the CPU.
    public static func computeEnvironment(threads: Int, coreType: String? = nil) -> [String: String] {
        var environment = ["OPENBLAS_NUM_THREADS": String(threads), "RLHF_THREADS": String(threads)]
        if let coreType { environment["OPENBLAS_CORETYPE"] = coreType }
        return environment
    }
}
