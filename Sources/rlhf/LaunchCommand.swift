import ArgumentParser
import Foundation
import Replay
import Roles
import Topology

/// `rlhf launch FILE`: every role of the topology on this host as its own process, watched;
/// or all of them in this process with `--single-process`.
struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Run step 3 (PPO, GRPO, RLOO) as a topology file places it: one process per role, or one for all.",
        discussion: """
            Each role runs as `rlhf serve --topology FILE --role ROLE` with its threads, OpenBLAS core type and \
            CPU cores; their output is shown prefixed by role and kept in RUN/logs/ROLE.log. When the run \
            finishes, on Ctrl-C, or when a role dies, every process is stopped; a dead role is named with the \
            end of its log. The last checkpoint stays valid: `--resume` continues from it. With `--slurm`, writes a \
            batch script that starts each host's share as a Slurm job step instead (`--submit` also submits it). \
            See Docs/topology.md.
            """)

    @Argument(help: "The topology file (see topologies/).") var topology: String
    @Flag(name: .customLong("single-process"), help: "Every role in this process over inproc:// (same code path).")
    var singleProcess = false
    @Flag(help: "Continue from the run directory's latest checkpoint.") var resume = false
    @Option(help: "Start only this host's roles (multi-host runs); default: the host named local or the only host.")
    var host: String?
    @Flag(name: .customLong("print-commands"), help: "Print each role's command and environment instead of running.")
    var printCommands = false
    @Flag(help: "Write RUN/slurm-job.sh, a Slurm batch script running each host's share as a job step, instead of running.")
    var slurm = false
    @Flag(help: "Write the Slurm batch script (as --slurm) and submit it with sbatch; prints the job id.")
    var submit = false
    @Flag(name: .customLong("no-affinity"),
          help: "Leave CPU placement to a scheduler (what the Slurm script's steps use): roles are not pinned to their cores.")
    var noAffinity = false
    @Flag(name: .customLong("skip-memory-check"),
          help: "Start even when the roles' tensors (weights, optimizer state, KV caches, activations), computed from the configs, do not fit this machine's memory.")
    var skipMemoryCheck = false

    func run() throws {
        // Cores are checked where they are pinned: not under a scheduler, nor for a Slurm job's nodes.
        let coreHosts: Set<String>? = noAffinity || slurm || submit ? [] : nil
        // A host needs only the files its own roles open: the files are checked once the host
        // is known (every host's, for a one-process run).
        let unchecked = try TopologyParser.load(path: topology, options: TopologyValidator.Options(checkFiles: false, localHosts: coreHosts))
        if slurm || submit {
            // Each host's launcher checks its own files when its step starts, on its node.
            for warning in unchecked.warnings { print("note: \(warning)") }
            try writeSlurmScript(unchecked)
            return
        }
        let fileHosts: Set<String>? = singleProcess || unchecked.transport.kind == .inproc ? nil : [try chooseHost(unchecked)]
        let spec = try TopologyParser.load(path: topology, options: TopologyValidator.Options(localHosts: coreHosts, fileHosts: fileHosts))
        for warning in spec.warnings { print("note: \(warning)") }
        var plan = try spec.runPlan()
        let oneProcess = singleProcess || spec.transport.kind == .inproc
        if !skipMemoryCheck && !printCommands {
            let hostName = oneProcess ? (spec.hosts.keys.sorted().first ?? "local") : try chooseHost(spec)
            let roles = oneProcess ? plan.roles : spec.roles(onHost: hostName)
            try RoleMemoryPlan.check(plan, processes: roles.map { ($0, spec.replicas(of: $0)) }, oneProcess: oneProcess,
                                     host: hostName)
        }
        if oneProcess {
            plan.useInproc()
            try runSingleProcess(plan)
            return
        }
        try FileManager.default.createDirectory(atPath: spec.transport.directory, withIntermediateDirectories: true)
        let logs = (plan.directory as NSString).appendingPathComponent("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let hostName = try chooseHost(spec)
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let coreType = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        let topologyPath = URL(fileURLWithPath: topology).standardizedFileURL.path
        var children: [ChildSpec] = []
        var endpoints: [String: String] = [:]  // child -> the endpoint it binds (the buffer binds none)
        for role in spec.roles(onHost: hostName) {
            let roleSpec = spec.roles[role]!
            let count = spec.replicas(of: role)
            // Each replica its own process, with the role's threads and cores.
            for replica in 0..<count {
                let name = count == 1 ? role.rawValue : "\(role.rawValue)-\(replica)"
                var argv = [exe, "serve", "--topology", topologyPath, "--role", role.rawValue]
                if count > 1 { argv += ["--replica", String(replica)] }
                if resume { argv.append("--resume") }
                var environment = ChildSpec.computeEnvironment(threads: roleSpec.threads, coreType: coreType)
                environment["RLHF_NO_REEXEC"] = "1"
                if role != .buffer { endpoints[name] = plan.endpoints(of: role)[replica] }
                // Every role process exits 0 only when the run finished (the coordinator's, or a
                // role told so by it), so any of them exiting 0 ends this host's share.
                children.append(ChildSpec(name: name, argv: argv, environment: environment, cores: noAffinity ? nil : roleSpec.cores,
                                          logFile: (logs as NSString).appendingPathComponent("\(name).log"),
                                          finishesRun: true, restarts: plan.restarts[role] ?? 0))
            }
        }
        if printCommands {
            // For another scheduler (Kubernetes, systemd): the topology's relative paths are read from here.
            print("# host \(hostName): one line per role process, each run in \(FileManager.default.currentDirectoryPath)")
            for c in children {
                let env = c.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                let pin = c.cores.map { ["taskset", "-c", $0.map(String.init).joined(separator: ",")] } ?? []
                print(ShellWord.commandLine(env + pin + c.argv))
            }
            return
        }
        // The launcher pings its roles as its host does (their servers accept only the run's keys).
        plan.curve = try spec.curveSecurity(forHost: hostName)
        print("launching \(children.map(\.name).joined(separator: ", ")) on \(hostName); logs in \(logs)")
        // Out now, even into a pipe (rlhf pipeline, tee): the roles' lines follow it.
        fflush(nil)
        let supervisor = ProcessSupervisor(terminal: .standardError)
        let toStart = children
        let outcome = try runAsync { [plan, endpoints] in
            // Pings every role process; one that answered once and then stays silent for
            // transport.silence_limit_seconds (SIGSTOP, a wedged process) is killed as dead.
            let probe = try await RoleLivenessProbe(plan: plan, endpoints: endpoints)
            do {
                for child in toStart { _ = try supervisor.start(child) }
            } catch {
                _ = await supervisor.stop()  // the ones already started
                await probe.shutdown()
                throw error
            }
            let outcome = await supervisor.run(liveness: probe.check)
            await probe.shutdown()
            return outcome
        }
        print(outcome.description)
        if case .childFailed(let exit) = outcome.reason {
            if let cause = exit.cause {
                print("the \(exit.name) \(cause): killed; stopping the run; its log: \(exit.logFile ?? "-")")
            } else {
                print("the \(exit.name) role ended first (\(exit.status)); its log: \(exit.logFile ?? "-")")
            }
            for line in exit.lastLines.suffix(10) { print("  \(exit.name) | \(line)") }
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
        // The final model is written where the actor runs.
        if spec.roles[.actor]?.host == hostName {
            print("final actor: \((plan.directory as NSString).appendingPathComponent("final"))")
        }
    }

    private func chooseHost(_ spec: TopologySpec) throws -> String {
        if let host {
            guard spec.hosts[host] != nil else {
                throw UsageError("--host \(host): the topology names hosts \(spec.hosts.keys.sorted().joined(separator: ", "))")
            }
            return host
        }
        if spec.hosts.count == 1 { return spec.hosts.keys.first! }
        if spec.hosts["local"] != nil { return "local" }
        throw UsageError("the topology has several hosts (\(spec.hosts.keys.sorted().joined(separator: ", "))): say which with --host")
    }

    private func runSingleProcess(_ plan: RunPlan) throws {
        let logger = RoleLogging.logger("rlhf")
        let resume = self.resume
        let recorder = try ExperienceLog.forRun(plan: plan, topologyFile: topology) { logger.notice("\($0)") }
        try runAsync {
            let summary = try await RoleProcess.run(plan: plan, roles: plan.roles, resume: resume, recorder: recorder, logger: logger)
            if let summary { print("final actor: \(summary.finalModel)") }
        }
    }
}
