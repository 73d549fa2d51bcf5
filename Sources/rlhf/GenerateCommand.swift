import ArgumentParser
import Foundation
import Model

/// `rlhf generate`: greedy or sampled continuation of token ids or of a text prompt.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate from --ids (or --prompt when the model has a tokenizer.model or tokenizer.json); prints JSON.")

    @Option(help: "Model directory.") var model: String
    @Option(help: "Prompt token ids, e.g. \"1 5 9\".") var ids: String?
    @Option(help: "Prompt text (needs tokenizer.model or tokenizer.json in the model directory).") var prompt: String?
    @Option(help: "Tokens to generate.") var maxNewTokens = 32
    @Flag(help: "Pick the most likely token each step (the default unless --temperature is given).") var greedy = false
    @Option(help: "Sampling temperature (> 0).") var temperature: Float?
    @Option(help: "Sample from the k most likely tokens only (0: all).") var topK = 0
    @Option(help: "Sample from the smallest set of tokens with probability >= p (1: all).") var topP: Float = 1
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Flag(help: "Do not stop at the end-of-sequence token.") var ignoreEos = false
    @Flag(help: "Print only the generated text (needs the model's tokenizer), not JSON.") var textOnly = false
    @Option(help: "Weights the products read: float32, or bfloat16 (a copy rounded to nearest even, float32 sums; step 3's default for sampling).")
    var precision = GenerationPrecision.float32

    func validate() throws {
        if (ids == nil) == (prompt == nil) { throw ValidationError("give exactly one of --ids and --prompt") }
        if greedy && temperature != nil { throw ValidationError("--greedy and --temperature exclude each other") }
        if let t = temperature, t <= 0 { throw ValidationError("--temperature must be > 0 (use --greedy for argmax)") }
        if topK < 0 { throw ValidationError("--top-k must be >= 0") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be >= 1") }
    }

    func run() throws {
        let m = try ModelLoading.load(directory: model)
        let tokenizer = try ModelLoading.tokenizer(in: model)
        var promptIDs: [Int]
        if let ids {
            promptIDs = try ModelLoading.parseIDs(ids, vocabSize: m.config.vocabSize, modelDirectory: model)
        } else {
            guard let tokenizer else { throw UsageError("--prompt needs a tokenizer.model or tokenizer.json in \(model); give --ids instead") }
            promptIDs = try tokenizer.encodeAddingSpecialTokens(prompt!)
        }
        let sampling = SamplingParameters(temperature: temperature ?? 0, topK: topK, topP: topP, seed: seed)
        let stops = ignoreEos ? [] : Set(m.config.eosTokenIDs + (m.config.eosTokenID.map { [$0] } ?? []))
        guard promptIDs.count + maxNewTokens <= m.config.maxPositionEmbeddings else {
            throw UsageError("prompt (\(promptIDs.count) tokens) + --max-new-tokens \(maxNewTokens) exceed max_position_embeddings \(m.config.maxPositionEmbeddings)")
        }
        let out = try Generator(model: m, precision: precision).generate(prompts: [promptIDs], maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: stops)
        var result: [String: Any] = ["ids": promptIDs + out.newTokens[0]]
        if let tokenizer {
            result["text"] = try tokenizer.decodeGenerated(out.newTokens[0].filter { !stops.contains($0) })
        }
        if textOnly {
            guard let text = result["text"] as? String else { throw UsageError("--text-only needs a tokenizer.model or tokenizer.json in \(model)") }
            print(text)
        } else {
            try printJSON(result)
        }
    }
}

extension GenerationPrecision: ExpressibleByArgument {}
