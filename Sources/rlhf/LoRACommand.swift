import ArgumentParser
import Foundation
import Tokenization
import Model

/// `rlhf lora ...`: LoRA adapters in PEFT's layout (adapter_config.json + adapter_model.safetensors).
struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora", abstract: "Work with LoRA adapters saved in PEFT's layout.",
        subcommands: [LoRAMerge.self])
}

/// `rlhf lora merge --base DIR --adapter DIR --out DIR`: W += (alpha / r) B A on every adapted
/// layer, as PEFT's merge_and_unload, saved as a plain HF checkpoint that loads without PEFT.
struct LoRAMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Fold a LoRA adapter into its base model and save the result as a plain HF checkpoint (F32).")

    @Option(help: "Base model directory (config.json + model.safetensors or shards).")
    var base: String

    @Option(help: "Adapter directory (adapter_config.json + adapter_model.safetensors), as PEFT's save_pretrained writes it.")
    var adapter: String

    @Option(help: "Directory for the merged model (created if missing; must differ from --base and --adapter).")
    var out: String

    @Option(help: "Shard the merged weights into files of at most this many bytes.")
    var maxShardBytes: Int?

    /// Tokenizer, chat template and generation files a merged model needs to be used as its base was.
    static let companionFiles = TokenizerFiles.companionNames + [ChatTemplate.fileName, "generation_config.json"]

    func validate() throws {
        let resolved = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        if resolved(out) == resolved(base) {
            throw ValidationError("--out must differ from --base: merging would overwrite the base model")
        }
        if resolved(out) == resolved(adapter) {
            throw ValidationError("--out must differ from --adapter")
        }
    }

    func run() throws {
        let model = try Llama.load(directory: base).forAdapters(directory: adapter)
        let adapters = try model.loadAdapters(directory: adapter)
        let c = adapters.config
        model.mergeAdapters()
        try model.save(directory: out, maxShardBytes: maxShardBytes)
        var copied: [String] = []
        for name in Self.companionFiles {
            let source = (base as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source) else { continue }
            let destination = (out as NSString).appendingPathComponent(name)
            do {
                try? FileManager.default.removeItem(atPath: destination)
                try FileManager.default.copyItem(atPath: source, toPath: destination)
            } catch {
                throw CheckpointError(.ioFailure, path: destination, "cannot copy \(name) from the base: \(error.localizedDescription)")
            }
            copied.append(name)
        }
        var summary: [String: Any] = [
            "merged": out, "base": base, "adapter": adapter, "r": c.r, "lora_alpha": c.alpha,
            "target_modules": c.targetModules.map(\.rawValue), "adapters": adapters.layout.adapters.count,
            "copied": copied,
        ]
        if !adapters.savedModules.isEmpty { summary["modules_to_save"] = adapters.savedModules.keys.sorted() }
        try printJSON(summary)
    }
}
