import ArgumentParser
import Foundation
import Model

/// `rlhf init`: a randomly initialised model in the HF layout.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a randomly initialised model (config.json + model.safetensors) from an HF config.json.")

    @Option(help: "An HF config.json (LlamaForCausalLM, Qwen2ForCausalLM, ...).") var config: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Seed for the initial weights.") var seed: UInt64 = 0
    @Option(help: "Standard deviation of the initial weights (transformers' initializer_range).") var std: Float = 0.02

    func run() throws {
        let cfg = try LlamaConfig.load(contentsOf: config)
        let model = Llama(config: cfg)
        model.initializeRandom(seed: seed, std: std)
        try model.save(directory: out)
        try printJSON(["out": out, "parameters": model.parameterCount, "architecture": cfg.architecture])
    }
}
