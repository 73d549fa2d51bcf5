import Foundation
import XCTest

/// Replicas of the stateless scoring roles: each replica its own process with its own port, a
/// batch cut by rows over them and joined back, and the bits of the run unchanged by how many
/// there are.
final class ReplicaTests: XCTestCase {
    /// 1, 2 and 3 replicas of the reference and the reward model (PPO), and of the reference and
    /// the rule checker (GRPO), over ipc and tcp: the same experience log and final weights.
    func testReferenceAndRewardReplicas_giveTheSameBits() throws {
        let dir = try StepThreeRuns.temporaryDirectory("replicas")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for algorithm in ["ppo", "grpo"] {
            let reward: String? = algorithm == "grpo" ? "{rule: demo-tasks}" : nil
            var runs: [String] = []
            for (count, transport) in [(1, "ipc"), (2, "ipc"), (3, "tcp, base_port: \(StepThreeRuns.basePort())")] {
                let name = "\(algorithm)-\(count)"
                let path = try StepThreeRuns.topology(dir, name: name, transport: transport, algorithm: algorithm, iterations: 3,
                                                      reward: reward, replicas: ["reference": count, "reward": count])
                let r = try StepThreeRuns.succeed(["launch", path])
                if count > 1 {
                    for k in 0..<count {
                        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/\(name)/logs/reference-\(k).log"), "reference-\(k).log")
                        XCTAssertTrue(r.stderr.contains("reward-\(k)"), "the reward-\(k) process's lines: \(r.stderr.suffix(1500))")
                    }
                }
                runs.append("\(dir)/\(name)")
            }
            for other in runs.dropFirst() {
                let diff = try StepThreeRuns.succeed(["replay", "diff", runs[0], other])
                XCTAssertTrue(diff.stdout.contains("bit for bit"), "\(algorithm), \(other): \(diff.stdout)")
                XCTAssertEqual(try StepThreeRuns.bytes("\(runs[0])/final/model.safetensors"),
                               try StepThreeRuns.bytes("\(other)/final/model.safetensors"), "\(algorithm), \(other)")
            }
        }
    }

    /// The actor generating beside its trainer, and 1, 2 and 3 generator replicas (which fetch
    /// every version from the actor), for PPO at staleness 0 and GRPO at staleness
    /// 1: the same experience log and final weights, bit for bit. Each replica logs the weights
    /// it fetched.
    func testGeneratorReplicas_giveTheSameBitsAsTheActorGenerating() throws {
        let dir = try StepThreeRuns.temporaryDirectory("generators")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (algorithm, extra) in [("ppo", [String]()), ("grpo", ["max_staleness: 1"])] {
            var runs: [String] = []
            for count in [0, 1, 2, 3] {
                let name = "\(algorithm)-\(count)"
                let path = try StepThreeRuns.topology(dir, name: name, transport: count == 3 ? "tcp, base_port: \(StepThreeRuns.basePort())" : "ipc",
                                                      algorithm: algorithm, iterations: 4, reward: algorithm == "grpo" ? "{rule: demo-tasks}" : nil,
                                                      extra: extra, replicas: count == 0 ? [:] : ["generator": count])
                let r = try StepThreeRuns.succeed(["launch", path])
                if count > 1 {
                    for k in 0..<count {
                        let log = try String(contentsOfFile: "\(dir)/\(name)/logs/generator-\(k).log", encoding: .utf8)
                        XCTAssertTrue(log.contains("policy version 2:"), "generator-\(k) fetched version 2: \(log.suffix(800)) \(r.stderr.suffix(300))")
                    }
                }
                runs.append("\(dir)/\(name)")
            }
            for other in runs.dropFirst() {
                let diff = try StepThreeRuns.succeed(["replay", "diff", runs[0], other])
                XCTAssertTrue(diff.stdout.contains("bit for bit"), "\(algorithm), \(other): \(diff.stdout)")
                XCTAssertEqual(try StepThreeRuns.bytes("\(runs[0])/final/model.safetensors"),
                               try StepThreeRuns.bytes("\(other)/final/model.safetensors"), "\(algorithm), \(other)")
            }
        }
    }

    /// A role that cannot have replicas, or a replica count out of range, is refused with the
    /// file, the key and why.
    func testReplicas_ofATrainerOrOutOfRange_areRefused() throws {
        let dir = try StepThreeRuns.temporaryDirectory("replicas-refused")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let critic = try StepThreeRuns.topology(dir, name: "critic", replicas: ["critic": 2])
        try CLIProcess.run(["launch", critic]).assertRefused("roles.critic.replicas", "only the stateless roles")
        let many = try StepThreeRuns.topology(dir, name: "many", replicas: ["reward": 33])
        try CLIProcess.run(["launch", many]).assertRefused("roles.reward.replicas", "from 1 to 32")
        let serve = try StepThreeRuns.topology(dir, name: "serve", replicas: ["reward": 2])
        try CLIProcess.run(["serve", "--topology", serve, "--role", "reward", "--replica", "2"]).assertRefused("--replica 2", "2 replica(s)")
    }
}
