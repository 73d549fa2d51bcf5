import ArgumentParser
import Foundation
import Replay
import Roles
import Topology
import Training

/// `rlhf train ppo|grpo|rloo --config FILE`: step 3 with every role in this process, the
/// shortcut for `rlhf launch FILE --single-process`. The file is a topology (Docs/topology.md);
/// `roles:` and `transport:` may be left out, since everything runs here over inproc://.
enum TrainRL {
    static func run(_ algorithm: RLAlgorithmConfig.Algorithm, config: String, resume: Bool, iterations: Int?) throws {
        let spec = try TopologyParser.load(path: config)
        for warning in spec.warnings { print("note: \(warning)") }
        guard spec.algorithm.algorithm == algorithm else {
            throw UsageError("\(config): its algorithm is \(spec.algorithm.algorithm.rawValue); run `rlhf train \(spec.algorithm.algorithm.rawValue)` or set algorithm.name: \(algorithm.rawValue)")
        }
        var plan = try spec.runPlan()
        if let iterations {
            guard iterations >= 1 else { throw UsageError("--iterations must be at least 1, got \(iterations)") }
            plan.iterations = iterations
        }
        plan.useInproc()
        let logger = RoleLogging.logger("rlhf")
        let final = plan
        let recorder = try ExperienceLog.forRun(plan: plan, topologyFile: config, iterations: iterations) { logger.notice("\($0)") }
        let summary = try runAsync {
            try await RoleProcess.run(plan: final, roles: final.roles, resume: resume, recorder: recorder, logger: logger)
        }
        var result: [String: Any] = ["algorithm": algorithm.rawValue, "iterations": plan.iterations, "output_dir": plan.directory]
        if let summary {
            result["final_model"] = summary.finalModel
            for (k, v) in summary.lastMetrics { result[k] = v }
        }
        try printJSON(result)
    }
}

/// The options `rlhf train ppo|grpo|rloo` share.
struct RLArguments: ParsableArguments {
    @Option(help: "A topology file (see topologies/ and Docs/topology.md); roles and transport may be omitted.")
    var config: String
    @Flag(help: "Continue from the run directory's latest checkpoint.") var resume = false
    @Option(help: "Iterations to run, overriding schedule.iterations.") var iterations: Int?
}

struct TrainPPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo", abstract: "Step 3 PPO (InstructGPT, DeepSpeed-Chat's defaults), every role in this process.")
    @OptionGroup var options: RLArguments
    func run() throws { try TrainRL.run(.ppo, config: options.config, resume: options.resume, iterations: options.iterations) }
}

struct TrainGRPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo", abstract: "GRPO: group-relative advantages, no critic, KL in the loss; every role in this process.")
    @OptionGroup var options: RLArguments
    func run() throws { try TrainRL.run(.grpo, config: options.config, resume: options.resume, iterations: options.iterations) }
}

struct TrainRLOO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rloo", abstract: "RLOO: leave-one-out baselines, no critic; every role in this process.")
    @OptionGroup var options: RLArguments
    func run() throws { try TrainRL.run(.rloo, config: options.config, resume: options.resume, iterations: options.iterations) }
}
