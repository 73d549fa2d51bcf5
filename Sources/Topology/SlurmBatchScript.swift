import Foundation
import Yams

/// The Slurm batch script `rlhf launch FILE --slurm` writes: inside an allocation, one job step
/// per host of the topology, each running that host's share as `rlhf launch FILE --host H
/// --no-affinity` on its node (Docs/topology.md, "Slurm").
///
/// One step per host rather than one per role: the launcher in the step restarts the stateless
/// roles and pings them all, as it does outside Slurm, and a role's restart needs no new job
/// step (which Slurm may delay or refuse inside a busy allocation). Slurm gives each step its CPUs
/// (`--cpus-per-task`, `--exact`, `--cpu-bind=cores`), so the launcher in it does not pin roles
/// to their `cores`.
///
/// The text is made from the spec alone: nothing here opens a file the topology names (models,
/// data, transport keys), so no secret can reach the script.
public struct SlurmBatchScript: Sendable, Equatable {
    /// One job step: one host's share of the run.
    public struct HostStep: Sendable, Equatable {
        /// The topology's host name; also the node it runs on when the allocation has a node of
        /// that name.
        public var host: String
        /// The role processes the host's launcher starts, as it names them (`reward-1`).
        public var processes: [String]
        /// The step's `--cpus-per-task` (`SlurmBatchScript.cpus(forHost:in:)`).
        public var cpus: Int
        /// Whether the buffer role, the coordinator, runs here: this step's end is the run's.
        public var holdsCoordinator: Bool
        /// What the step runs.
        public var argv: [String]
        /// Where the step's output goes: its launcher's `role | line` lines and srun's own.
        public var logFile: String
    }

    /// The job's name in `squeue`: `rlhf-` and the run's name.
    public var jobName: String
    /// Where the job runs (`#SBATCH --chdir`): the topology's relative paths are read from there.
    public var workingDirectory: String
    /// The run's `logs/` (absolute): the steps' logs and the job's own (`slurm-JOBID.out`).
    public var logDirectory: String
    /// The steps, in the order of the hosts in the file.
    public var steps: [HostStep]
    /// How long before the job's time limit Slurm sends SIGUSR1 to the script, which then stops
    /// the steps as `scancel` would (`#SBATCH --signal=B:USR1@...`).
    public var stopBeforeTimeLimitSeconds = 120
    /// How long the script waits for the other steps to stop once the run has ended; Slurm
    /// kills what is left when the script exits.
    public var stopGraceSeconds = 60

    /// - Parameters:
    ///   - spec: the validated topology.
    ///   - hostOrder: its host names in the file's order (`hostOrder(of:yaml:)`); hosts that hold
    ///     no role get no step.
    ///   - executable: the `rlhf` every node runs (an absolute path, the same on every node).
    ///   - topologyPath: the topology file, absolute.
    ///   - workingDirectory: the directory `rlhf launch` runs in, absolute.
    ///   - launchOptions: more options for each host's launcher (`--resume`, `--single-process`).
    /// - Throws: `TopologyError` for a host name Slurm could not have as a node name (the script
    ///   matches hosts to nodes by name).
    public init(spec: TopologySpec, hostOrder: [String], executable: String, topologyPath: String,
                workingDirectory: String, launchOptions: [String] = []) throws {
        jobName = "rlhf-" + String(spec.run.name.map { Self.nodeNameCharacters.contains($0) ? $0 : "-" })
        self.workingDirectory = workingDirectory
        logDirectory = (TopologyPath.resolve(spec.run.directory, against: workingDirectory) as NSString).appendingPathComponent("logs")
        let coordinatorHost = spec.roles[.buffer]?.host
        var steps: [HostStep] = []
        for host in hostOrder where !spec.roles(onHost: host).isEmpty {
            guard !host.hasPrefix("-"), host.allSatisfy(Self.nodeNameCharacters.contains) else {
                throw TopologyError(.invalidValue, file: spec.file, key: "hosts.\(host)",
                                    "a host of a Slurm run is matched to a node by name: use letters, digits, '.', '_' and '-' only")
            }
            let processes = spec.roles(onHost: host).flatMap { role in
                let count = spec.replicas(of: role)
                return count == 1 ? [role.rawValue] : (0..<count).map { "\(role.rawValue)-\($0)" }
            }
            let argv = [executable, "launch", topologyPath, "--host", host, "--no-affinity"] + launchOptions
            steps.append(HostStep(host: host, processes: processes, cpus: Self.cpus(forHost: host, in: spec),
                                  holdsCoordinator: host == coordinatorHost, argv: argv,
                                  logFile: (logDirectory as NSString).appendingPathComponent("host-\(host).log")))
        }
        self.steps = steps
    }

    /// The CPUs a host's step asks for: the distinct CPUs its roles' `cores` name, or, when
    /// more, the threads of its widest role process. Not the sum of the roles' threads: the roles
    /// of step 3 take turns (generation, scoring, training), which is why the shipped topologies
    /// place five roles on two cores; give roles `cores` to reserve more.
    public static func cpus(forHost host: String, in spec: TopologySpec) -> Int {
        let roles = spec.roles(onHost: host).compactMap { spec.roles[$0] }
        let named = Set(roles.flatMap { $0.cores ?? [] }).count
        return max(1, named, roles.map(\.threads).max() ?? 1)
    }

    /// The names of `hosts:` in the order the file gives them (a dictionary keeps none), then
    /// any host of `spec` the text lacks (`local` when the file has no `hosts:`), by name.
    public static func hostOrder(of spec: TopologySpec, yaml: String) -> [String] {
        var inFile: [String] = []
        if let top = (try? Yams.compose(yaml: yaml))?.mapping, let hosts = top["hosts"]?.mapping {
            inFile = hosts.keys.compactMap(\.string).filter { spec.hosts[$0] != nil }
        }
        return inFile + spec.hosts.keys.filter { !inFile.contains($0) }.sorted()
    }

    /// Characters Slurm allows in a node name (and so in a host matched to one by name).
    static let nodeNameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
}
