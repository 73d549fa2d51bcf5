import ArgumentParser
import Foundation
import Training

/// `rlhf train pt|sft|rm|dpo --config recipe.yaml [--key value ...]`.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model: pre-training, SFT, a reward model, DPO; or step 3 (PPO, GRPO, RLOO) in one process.",
        discussion: """
            Every recipe key is also a flag that overrides the file, spelt as in trl and transformers \
            (--learning_rate 1e-4, or --learning-rate=1e-4). See Docs/training.md for every key.
            """,
        subcommands: [TrainPT.self, TrainSFT.self, TrainRM.self, TrainDPO.self, TrainPPO.self, TrainGRPO.self, TrainRLOO.self])
}

/// The recipe file and the flags that override it, shared by the four stages.
struct RecipeArguments: ParsableArguments {
    @Option(help: "A YAML recipe (see recipes/).")
    var config: String?

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Recipe keys as flags: --key value.", valueName: "--key value"))
    var overrides: [String] = []
}

struct TrainPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pt", abstract: "(Continued) pre-training: causal LM loss on every token.",
        discussion: RecipeHelp.keys(for: .pt))
    @OptionGroup var recipe: RecipeArguments
    func run() throws { try TrainingRun.run(stage: .pt, recipe) }
}

struct TrainSFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft", abstract: "Supervised fine-tuning: loss on the assistant turns only.",
        discussion: RecipeHelp.keys(for: .sft))
    @OptionGroup var recipe: RecipeArguments
    func run() throws { try TrainingRun.run(stage: .sft, recipe) }
}

struct TrainRM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Reward model: a scalar head trained on chosen/rejected pairs.",
        discussion: RecipeHelp.keys(for: .rm))
    @OptionGroup var recipe: RecipeArguments
    func run() throws { try TrainingRun.run(stage: .rm, recipe) }
}

struct TrainDPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo", abstract: "Direct preference optimisation (or IPO) against a frozen reference.",
        discussion: RecipeHelp.keys(for: .dpo))
    @OptionGroup var recipe: RecipeArguments
    func run() throws { try TrainingRun.run(stage: .dpo, recipe) }
}

/// The steps every stage runs: resolve the recipe, print it, prepare data and models, train.
enum TrainingRun {
    static func run(stage: TrainingStage, _ arguments: RecipeArguments) throws {
        let resolved = try RecipeParser.resolve(stage: stage, configPath: arguments.config, flags: arguments.overrides)
        print(resolved.yaml)
        for warning in resolved.warnings { print("note: \(warning)") }
        let prepared = try TrainingSession.prepare(resolved)
        for line in prepared.report { print(line) }
        let trainer = try Trainer(objective: prepared.objective, options: TrainerOptions(resolved))
        print("plan: \(trainer.totalSteps) updates (\(trainer.stepsPerEpoch) per epoch) of \(resolved.recipe.gradientAccumulationSteps) × \(resolved.recipe.perDeviceTrainBatchSize) examples; warmup \(trainer.schedule.warmupSteps) updates, \(resolved.recipe.lrSchedulerType) schedule"
              + (trainer.schedule.kind == .warmupStableDecay ? " decaying over the last \(trainer.schedule.decaySteps) updates" : ""))
        let summary = try trainer.train()
        var result: [String: Any] = [
            "stage": stage.rawValue, "global_step": summary.globalStep, "train_loss": summary.trainLoss,
            "train_runtime": summary.trainSeconds, "train_tokens_per_second": summary.tokensPerSecond,
            "train_padded_tokens_per_second": summary.paddedTokensPerSecond, "output_dir": resolved.recipe.outputDir,
        ]
        for (k, v) in summary.evaluation { result[k] = v }
        try printJSON(result)
    }
}

/// The list of keys in `--help`, from the same table the parser uses.
enum RecipeHelp {
    static func keys(for stage: TrainingStage) -> String {
        let defaults = TrainingRecipe()
        var lines = ["Recipe keys (YAML key or --flag; default in brackets):"]
        for key in RecipeKey.all where key.stages.contains(stage) {
            lines.append("  \(key.name) [\(key.defaultDescription(in: defaults))]: \(key.help)")
        }
        return lines.joined(separator: "\n")
    }
}
