import Foundation
import Messaging
import Topology
import XCTest

/// Step 3 across hosts that share nothing but a network: two network namespaces joined by a
/// veth pair, each with its own directory behind the same paths (`NetworkHosts`), one
/// `rlhf launch --host` in each. Host a runs the actor, the reference and the coordinator and
/// holds only their files; host b runs the reward and the critic and holds only the reward
/// model.
final class MultiHostTests: XCTestCase {
    private static let algorithm = """
        algorithm:
          name: ppo
          max_new_tokens: 8
          max_prompt_length: 48
          prompts_per_iteration: 4
          mini_batch_size: 4
          actor_learning_rate: 1.0e-3
          critic_learning_rate: 1.0e-3
          warmup_steps: 1
        schedule: {iterations: 6, save_every: 2}
        """

    /// Two hosts, each a copy of only its roles' files, and the topology on both.
    private func twoHosts(_ dir: String, extraTransport: String = "", reachable: Bool = false) throws -> (NetworkHosts, String) {
        let hosts = try NetworkHosts(count: 2, base: dir, reachable: reachable)
        let models = try StepThreeRuns.modelsDirectory()
        let (a, b) = (hosts.directories[0], hosts.directories[1])
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(a)/models", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(b)/models", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(a)/data", withIntermediateDirectories: true)
        try fm.copyItem(atPath: "\(models)/base", toPath: "\(a)/models/base")
        try fm.copyItem(atPath: "\(models)/rm", toPath: "\(b)/models/rm")
        try fm.copyItem(atPath: "\(StepThreeRuns.demo)/heldout_prompts.jsonl", toPath: "\(a)/data/prompts.jsonl")
        let r = hosts.root
        let text = """
            run: {name: two-hosts, directory: \(r)/run, seed: 7}
            models:
              actor: {path: \(r)/models/base}
              reward: {path: \(r)/models/rm}
              critic: {path: \(r)/models/rm}
            hosts:
              a: {address: \(hosts.addresses[0])}
              b: {address: \(hosts.addresses[1])}
            roles:
              actor: {host: a, threads: 1}
              reference: {host: a, threads: 1}
              buffer: {host: a, threads: 1}
              reward: {host: b, threads: 1}
              critic: {host: b, threads: 1}
            transport: {kind: tcp, base_port: \(StepThreeRuns.basePort()), keys: \(r)/keys\(extraTransport)}
            data: {prompts: \(r)/data/prompts.jsonl}
            \(Self.algorithm)
            """
        for d in hosts.directories { try text.write(toFile: "\(d)/topology.yaml", atomically: true, encoding: .utf8) }
        // The run's keys, made once; each host gets the public keys and its own secret only.
        try StepThreeRuns.succeed(["keys", "--topology", "\(a)/topology.yaml", "--out", "\(dir)/keys"])
        for (d, name) in [(a, "a"), (b, "b")] {
            try fm.createDirectory(atPath: "\(d)/keys", withIntermediateDirectories: true)
            try fm.copyItem(atPath: "\(dir)/keys/public", toPath: "\(d)/keys/public")
            try fm.copyItem(atPath: "\(dir)/keys/\(name).secret", toPath: "\(d)/keys/\(name).secret")
            chmod("\(d)/keys/\(name).secret", 0o600)
        }
        return (hosts, "\(r)/topology.yaml")
    }

    /// The same run on one host over ipc.
    private func oneHostRun(_ dir: String) throws -> String {
        let models = try StepThreeRuns.modelsDirectory()
        let path = "\(dir)/one-host.yaml"
        try """
            run: {name: one-host, directory: \(dir)/one-host, seed: 7}
            models:
              actor: {path: \(models)/base}
              reward: {path: \(models)/rm}
              critic: {path: \(models)/rm}
            roles: {actor: {threads: 1}, reference: {threads: 1}, reward: {threads: 1}, critic: {threads: 1}, buffer: {threads: 1}}
            transport: {kind: ipc}
            data: {prompts: \(StepThreeRuns.demo)/heldout_prompts.jsonl}
            \(Self.algorithm)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        try StepThreeRuns.succeed(["launch", path])
        return "\(dir)/one-host"
    }

    /// The run completes on both hosts (each launcher exits 0), with the bits of the one-host
    /// run; the critic's checkpoint parts are on host b only, the experience log, the metrics
    /// and the final actor on host a. A stranger on the network, with no key and then with a
    /// key of its own, knocks at host b's reward first: refused, logged with its address, and
    /// the run's bits are unchanged.
    func testTwoHosts_withOnlyTheirOwnFiles_giveTheBitsOfOneHost() throws {
        let dir = try StepThreeRuns.temporaryDirectory("two-hosts")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (hosts, topology) = try twoHosts(dir, reachable: true)
        defer { hosts.remove() }
        let b = try hosts.start(1, ["launch", topology, "--host", "b"], output: "\(dir)/b.out")
        // The stranger knows the run's endpoints and server keys (public), not a client's secret.
        let view = try String(contentsOfFile: "\(hosts.directories[0])/topology.yaml", encoding: .utf8)
            .replacingOccurrences(of: "keys: \(hosts.root)/keys", with: "keys: \(dir)/keys")
        let spec = try TopologyParser.parse(yaml: view, file: "view.yaml", options: .init(checkFiles: false))
        let curve = try XCTUnwrap(try spec.curveSecurity(forHost: "a"))
        let reward = spec.endpoint(for: .reward)
        XCTAssertTrue(RunPaths.wait(seconds: 60) { b.output.contains("reward | answers pings") }, b.output)
        for kind in [HostilePeer.Keyless.noKey, .strangerKey] {
            try HostilePeer.knock(reward, kind: kind, count: 3, runKeyPair: curve.keyPair, serverKey: curve.serverKeys[reward]!)
        }
        let a = try hosts.start(0, ["launch", topology, "--host", "a"], output: "\(dir)/a.out")
        let statusA = a.wait(seconds: 120), statusB = b.wait(seconds: 30)
        XCTAssertEqual(statusA, 0, a.output.suffix(3000).description)
        XCTAssertEqual(statusB, 0, "host b ends when the run does: \(b.output.suffix(3000))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(hosts.directories[1])/models/base"), "host b holds no actor model")
        let runA = "\(hosts.directories[0])/run", runB = "\(hosts.directories[1])/run"
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(runB)/checkpoint-4/critic/model.safetensors"), "the critic's part on host b")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(runA)/checkpoint-4/critic"), "and not on host a")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(runA)/checkpoint-4/actor"), "the actor's part on host a")
        let state = try String(contentsOfFile: "\(runA)/checkpoint-4/coordinator_state.json", encoding: .utf8)
        XCTAssertTrue(state.contains("\"critic\" : \"b\""), "the manifest names the critic's host: \(state)")
        XCTAssertTrue(b.output.contains("refused a peer at \(hosts.ownAddress!)"), "the stranger's key refused, with its address: \(b.output.suffix(3000))")
        XCTAssertTrue(b.output.contains("failed the CURVE handshake"), "the keyless stranger refused: \(b.output.suffix(3000))")
        let one = try oneHostRun(dir)
        let diff = try StepThreeRuns.succeed(["replay", "diff", one, runA])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), diff.stdout)
        XCTAssertEqual(try StepThreeRuns.bytes("\(one)/final/model.safetensors"), try StepThreeRuns.bytes("\(runA)/final/model.safetensors"))
    }

    /// Runs the two hosts (short silence limits), kills every process of host `killed` after
    /// the first iteration, and returns the other host's launcher once it ended, with how long
    /// that took; checks no process of the run is left.
    private func killHostMidRun(_ killed: Int, in dir: String) throws -> (survivor: BackgroundCLI, seconds: Double, hosts: NetworkHosts) {
        let (hosts, topology) = try twoHosts(dir, extraTransport: ", silence_limit_seconds: 2, coordinator_silence_limit_seconds: 4")
        defer { hosts.remove() }
        let b = try hosts.start(1, ["launch", topology, "--host", "b"], output: "\(dir)/b.out")
        let a = try hosts.start(0, ["launch", topology, "--host", "a"], output: "\(dir)/a.out")
        let metrics = "\(hosts.directories[0])/run/metrics.jsonl"
        XCTAssertTrue(RunPaths.wait(seconds: 60) { !((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").isEmpty || !a.process.isRunning },
                      "a first iteration")
        let (victim, survivor) = killed == 0 ? (a, b) : (b, a)
        kill(victim.process.processIdentifier, SIGKILL)
        _ = try? NetworkHosts.sh("ip netns pids \(hosts.namespace(killed)) | xargs -r kill -9")
        let t0 = Date()
        survivor.wait(seconds: 60)
        let seconds = Date().timeIntervalSince(t0)
        XCTAssertTrue(RunPaths.wait(seconds: 5) { RunPaths.liveProcesses(mentioning: topology).isEmpty },
                      "processes left: \(RunPaths.liveProcesses(mentioning: topology))")
        return (survivor, seconds, hosts)
    }

    /// Every process of host b killed mid-run (the reward and the critic): host a's launcher
    /// stops the run within seconds, naming the role and its address on host b, and exits
    /// non-zero with no process left.
    func testKillingAHostsProcesses_stopsTheRun_namingIt() throws {
        let dir = try StepThreeRuns.temporaryDirectory("two-hosts-killed")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (a, seconds, hosts) = try killHostMidRun(1, in: dir)
        XCTAssertNotEqual(a.process.terminationStatus, 0, a.output.suffix(2000).description)
        XCTAssertLessThan(seconds, 20, "stopped within seconds")
        XCTAssertTrue(a.output.contains(hosts.addresses[1]) && a.output.contains("on host b"), "names host b: \(a.output.suffix(2000))")
        XCTAssertTrue(a.output.contains("critic") || a.output.contains("reward"), a.output.suffix(2000).description)
    }

    /// Every process of host a (the coordinator's) killed mid-run: host b's roles hear no
    /// keep-alive, end within the coordinator's silence limit naming why, and host b's launcher
    /// exits non-zero with no process left.
    func testCoordinatorsHostGone_endsTheOtherHost() throws {
        let dir = try StepThreeRuns.temporaryDirectory("two-hosts-coordinator-gone")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (b, seconds, _) = try killHostMidRun(0, in: dir)
        XCTAssertNotEqual(b.process.terminationStatus, 0, b.output.suffix(2000).description)
        XCTAssertLessThan(seconds, 20, "ended within seconds: \(b.output.suffix(2000))")
        XCTAssertTrue(b.output.contains("heard nothing from the coordinator"), b.output.suffix(2000).description)
    }
}
