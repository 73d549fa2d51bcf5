import Foundation
import Topology
import XCTest

/// The batch script of `rlhf launch --slurm` as text: one job step per host, with its node, its
/// CPUs, its launcher and its log. `SlurmBatchScriptRunTests` runs it against stand-ins for
/// Slurm's commands; `Scripts/slurm-check` against a real Slurm.
final class SlurmBatchScriptTests: XCTestCase {
    /// Two hosts, `trainer` before `scorer` in the file (the reverse of their names' order).
    static let twoHosts = """
        run: {name: two hosts, directory: runs/two}
        hosts:
          trainer: {address: 10.0.0.1}
          scorer: {address: 10.0.0.2}
          spare: {address: 10.0.0.3}
        models:
          actor: {path: models/base}
          reward: {path: models/rm}
        roles:
          actor: {host: trainer, threads: 2, cores: [0, 1]}
          critic: {host: trainer, threads: 1, cores: [2]}
          buffer: {host: trainer}
          reference: {host: scorer, threads: 3}
          reward: {host: scorer, threads: 1, replicas: 2}
        transport: {kind: tcp, keys: keys}
        data: {prompts: data/prompts.jsonl}
        """

    static func script(_ yaml: String = twoHosts, options: [String] = []) throws -> SlurmBatchScript {
        let spec = try TopologyParser.parse(yaml: yaml, file: "two.yaml", options: .init(checkFiles: false, localHosts: []))
        return try SlurmBatchScript(spec: spec, hostOrder: SlurmBatchScript.hostOrder(of: spec, yaml: yaml),
                                    executable: "/opt/rlhf/bin/rlhf", topologyPath: "/work/two hosts.yaml",
                                    workingDirectory: "/work", launchOptions: options)
    }

    func testTwoHosts_oneStepPerHost_withItsNodeCPUsLauncherAndLog() throws {
        let script = try Self.script()
        XCTAssertEqual(script.steps.map(\.host), ["trainer", "scorer"], "the file's order; spare holds no role and gets no node")
        let text = script.text(topologyPath: "/work/two hosts.yaml", command: "rlhf launch 'two hosts.yaml' --slurm")
        let sruns = text.split(separator: "\n").filter { $0.hasPrefix("srun ") }
        XCTAssertEqual(sruns.count, 2, text)
        // trainer: cores 0, 1 and 2 named: 3 CPUs; scorer: no cores, its widest role has 3 threads.
        XCTAssertEqual(script.steps.map(\.cpus), [3, 3])
        for (step, srun) in zip(["trainer", "scorer"], sruns) {
            XCTAssertTrue(srun.contains("--nodes=1 --ntasks=1 --nodelist=\"${node_of[\(step)]}\" --cpus-per-task=3 --exact --cpu-bind=cores"),
                          String(srun))
            XCTAssertTrue(text.contains("""
                    /opt/rlhf/bin/rlhf launch '/work/two hosts.yaml' --host \(step) --no-affinity >> /work/runs/two/logs/host-\(step).log 2>&1 &
                step_pid[\(step)]=$!
                """), text)
        }
        for line in ["#SBATCH --job-name=rlhf-two-hosts", "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1",
                     "#SBATCH --cpus-per-task=3", "#SBATCH --chdir=/work", "#SBATCH --output=/work/runs/two/logs/slurm-%j.out",
                     "#SBATCH --signal=B:USR1@120", "hosts=(trainer scorer)", "coordinator=trainer"] {
            XCTAssertTrue(text.contains("\n" + line), "missing \(line)")
        }
        XCTAssertTrue(text.contains("# host trainer: actor, critic, buffer (the buffer is the coordinator); 3 CPUs"), text)
        XCTAssertTrue(text.contains("# host scorer: reference, reward-0, reward-1; 3 CPUs"), text)
    }

    /// Threads and cores give a step's CPUs: the cores named, or the widest role's threads.
    func testCPUs_areTheCoresNamed_orTheWidestRolesThreads() throws {
        let yaml = Self.twoHosts
            .replacingOccurrences(of: "critic: {host: trainer, threads: 1, cores: [2]}", with: "critic: {host: trainer, threads: 4}")
            .replacingOccurrences(of: "reference: {host: scorer, threads: 3}", with: "reference: {host: scorer, threads: 1}")
        XCTAssertEqual(try Self.script(yaml).steps.map(\.cpus), [4, 1])
        XCTAssertTrue(try Self.script(yaml).text(topologyPath: "t", command: "c").contains("\n#SBATCH --cpus-per-task=4\n"))
    }

    /// What the script carries is the topology's path, never what the files it names hold:
    /// no model or data path, no environment, nothing that reads like key material.
    func testScript_namesOnlyTheTopology_neverTheFilesItNamesOrTheEnvironment() throws {
        setenv("RLHF_TEST_SECRET_VALUE", "s3cr3t-never-in-a-script", 1)
        defer { unsetenv("RLHF_TEST_SECRET_VALUE") }
        let text = try Self.script().text(topologyPath: "/work/two hosts.yaml", command: "rlhf launch two.yaml --slurm")
        for absent in ["s3cr3t", "models/base", "models/rm", "prompts.jsonl", "secret", "CURVE", "keys", "10.0.0."] {
            XCTAssertFalse(text.contains(absent), "the script holds \"\(absent)\"")
        }
    }

    /// `--resume` (and `--single-process`) reach every host's launcher.
    func testLaunchOptions_reachEveryHostsLauncher() throws {
        let text = try Self.script(options: ["--resume"]).text(topologyPath: "t", command: "c")
        XCTAssertEqual(text.components(separatedBy: "--no-affinity --resume >> ").count - 1, 2, text)
    }

    /// Hosts are matched to nodes by name, so a name Slurm could not give a node is refused.
    func testHostNameThatCannotBeANodeName_isRefused() {
        let yaml = Self.twoHosts.replacingOccurrences(of: "scorer", with: "\"scorer host\"")
        XCTAssertThrowsError(try Self.script(yaml)) { error in
            XCTAssertTrue("\(error)".contains("hosts.scorer host: a host of a Slurm run is matched to a node by name"), "\(error)")
        }
    }

    /// One host (no `hosts:`): one node, one step, the coordinator's.
    func testOneHost_oneStep() throws {
        let yaml = """
            run: {name: one, directory: /runs/one}
            models: {actor: {path: m/base}, reward: {path: m/rm}}
            roles: {actor: {threads: 2}}
            data: {prompts: p.jsonl}
            """
        let script = try Self.script(yaml)
        XCTAssertEqual(script.steps.map(\.host), ["local"])
        XCTAssertEqual(script.steps.first?.holdsCoordinator, true)
        XCTAssertEqual(script.steps.first?.cpus, 2)
        XCTAssertEqual(script.logDirectory, "/runs/one/logs", "an absolute run directory stays as it is")
    }

    func testShellWord_quotesOnlyWhatTheShellWouldRead() {
        XCTAssertEqual(ShellWord.quote("/opt/rlhf/bin/rlhf"), "/opt/rlhf/bin/rlhf")
        XCTAssertEqual(ShellWord.quote("OPENBLAS_NUM_THREADS=2"), "OPENBLAS_NUM_THREADS=2")
        XCTAssertEqual(ShellWord.quote("two hosts.yaml"), "'two hosts.yaml'")
        XCTAssertEqual(ShellWord.quote("it's"), "'it'\\''s'")
        XCTAssertEqual(ShellWord.quote("$HOME"), "'$HOME'")
        XCTAssertEqual(ShellWord.quote("~/x"), "'~/x'")
        XCTAssertEqual(ShellWord.quote(""), "''")
    }
}
