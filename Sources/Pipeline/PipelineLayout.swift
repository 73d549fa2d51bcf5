import Foundation

/// Where every step of a pipeline writes, under its `output_dir`.
public struct PipelineLayout: Sendable, Equatable {
    public let root: String

    public init(root: String) { self.root = root }

    func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    /// The tokenizer and the random model (`rlhf tokenizer train` and `rlhf init` share it).
    public var initial: String { path("init") }
    /// The pre-trained model (`pretrain:`).
    public var base: String { path("base") }
    /// Step 1's model.
    public var sft: String { path("sft") }
    /// Step 2's reward model.
    public var rewardModel: String { path("rm") }
    /// Step 3's run directory (checkpoints, metrics, role logs).
    public var rl: String { path("rl") }
    /// Step 3's final actor: the RLHF model.
    public var rlFinal: String { (rl as NSString).appendingPathComponent("final") }
    /// The copy of the step-3 topology that points at the pipeline's models.
    public var topology: String { path("rl-topology.yaml") }
    /// Each training step's output, as its command printed it.
    public var logs: String { path("logs") }
    /// `rlhf eval sft`'s output after step 1.
    public var sftEvaluation: String { path("eval-sft.txt") }
    /// `rlhf eval rm`'s output after step 2, and its per-pair scores.
    public var rewardEvaluation: String { path("eval-rm.txt") }
    public var rewardPairs: String { path("eval-rm-pairs.jsonl") }
    /// Which steps are done (`PipelineState`).
    public var state: String { path(PipelineState.fileName) }
    /// The SFT-versus-RLHF table as JSON.
    public var summary: String { path("pipeline_summary.json") }
    /// The comparison's printed table and answers.
    public var comparison: String { path("compare.txt") }

    /// `logs/<step>.log`.
    public func log(_ step: PipelineStepName) -> String {
        (logs as NSString).appendingPathComponent("\(step.rawValue).log")
    }
}

/// The steps of a pipeline, in order. `--force` takes these names.
public enum PipelineStepName: String, Sendable, CaseIterable, Codable {
    case tokenizer
    case initModel = "init"
    case pretrain
    case sft
    case sftEval = "sft-eval"
    case rewardModel = "rm"
    case rewardEval = "rm-eval"
    case rl
    case compare

    /// The steps whose outputs this one reads (so forcing one of them redoes this one too).
    public var inputs: [PipelineStepName] {
        switch self {
        case .tokenizer: []
        case .initModel: [.tokenizer]
        case .pretrain: [.initModel]
        case .sft: [.pretrain, .initModel]
        case .sftEval: [.sft, .pretrain, .initModel]
        case .rewardModel: [.sft]
        case .rewardEval: [.rewardModel]
        case .rl: [.sft, .rewardModel]
        case .compare: [.sft, .rewardModel, .rl]
        }
    }

    /// What the progress line calls it.
    public var title: String {
        switch self {
        case .tokenizer: "tokenizer"
        case .initModel: "a random model"
        case .pretrain: "pre-training"
        case .sft: "step 1, supervised fine-tuning"
        case .sftEval: "step 1's evaluation"
        case .rewardModel: "step 2, the reward model"
        case .rewardEval: "step 2's evaluation"
        case .rl: "step 3, RL through the topology"
        case .compare: "SFT against RLHF on the held-out prompts"
        }
    }

    /// `step` and every step that reads its output, directly or through others.
    public static func invalidated(by forced: Set<PipelineStepName>) -> Set<PipelineStepName> {
        var out = forced
        for step in allCases where step.inputs.contains(where: { out.contains($0) }) { out.insert(step) }  // allCases is in order
        return out
    }
}
