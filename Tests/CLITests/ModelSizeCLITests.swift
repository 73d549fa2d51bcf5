import Foundation
import Model
import XCTest

/// A `config.json` that names an absurd size is refused by every command that reads it, at once,
/// with the file, the field and the figures: nothing is allocated (LlamaConfig+Size.swift).
final class ModelSizeCLITests: XCTestCase {
    /// The tool runs under this address-space limit, so that a broken check fails the test with a
    /// failed allocation instead of taking the machine's memory; a valid model runs well within it.
    static let memoryLimitKiB = 4 << 20

    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-size-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// `config.json` in `dir/name` with `changes` over a small valid Llama.
    func writeConfig(_ name: String, _ changes: [String: Any] = [:]) throws -> String {
        var fields: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 96, "hidden_size": 32,
            "intermediate_size": 80, "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 128,
        ]
        fields.merge(changes) { $1 }
        let model = "\(dir)/\(name)"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: fields).write(to: URL(fileURLWithPath: "\(model)/config.json"))
        return model
    }

    /// The tool under the memory limit, and how long it took.
    func runLimited(_ args: [String]) throws -> (CLIProcess.Result, TimeInterval) {
        let start = Date()
        let quoted = args.map { "'\($0)'" }.joined(separator: " ")
        let r = try CLIProcess.run(shell: "ulimit -v \(Self.memoryLimitKiB) && exec '\(CLIProcess.executable)' \(quoted)")
        return (r, Date().timeIntervalSince(start))
    }

    func testAbsurdLayerCount_isRefusedInSecondsByEveryCommandThatLoadsIt() throws {
        let valid = try writeConfig("valid")
        let (control, _) = try runLimited(["init", "--config", "\(valid)/config.json", "--out", "\(dir)/valid-out"])
        control.assertSucceeded("init of a small model under the memory limit")

        let model = try writeConfig("absurd", ["num_hidden_layers": 1_000_000_000_000])
        let file = "\(model)/config.json"
        let commands: [[String]] = [
            ["init", "--config", file, "--out", "\(dir)/out"],
            ["logprobs", "--model", model, "--ids", "1 2 3"],
            ["generate", "--model", model, "--ids", "1 2", "--max-new-tokens", "2", "--greedy"],
            ["lora", "merge", "--base", model, "--adapter", "\(dir)/none", "--out", "\(dir)/merged"],
        ]
        for command in commands {
            let (r, seconds) = try runLimited(command)
            r.assertRefused(file, "'num_hidden_layers'", "1000000000000 is beyond any real model", "parameters",
                            "bytes", "available")
            XCTAssertLessThan(seconds, 20, "\(command[0]) refused the file before allocating, not after")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out"), "nothing is written")
    }

    /// An adapter whose rank is within the limit but whose block (4.6 GB here) is more than the
    /// memory available is refused before it is allocated, naming `r`.
    func testLoRAMerge_adapterLargerThanTheMemory_isRefused() throws {
        let base = try writeConfig("base", ["hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4])
        let (made, _) = try runLimited(["init", "--config", "\(base)/config.json", "--out", base])
        made.assertSucceeded("init of the base")
        let adapter = "\(dir)/adapter"
        try FileManager.default.createDirectory(atPath: adapter, withIntermediateDirectories: true)
        let settings: [String: Any] = ["peft_type": "LORA", "task_type": "CAUSAL_LM", "r": LoRAConfig.maxRank, "lora_alpha": 8,
                                       "target_modules": "all-linear"]
        try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: "\(adapter)/adapter_config.json"))
        let (r, seconds) = try runLimited(["lora", "merge", "--base", base, "--adapter", adapter, "--out", "\(dir)/merged"])
        r.assertRefused("\(adapter)/adapter_config.json", "'r'", "rank \(LoRAConfig.maxRank) makes", "adapter parameters",
                        "this machine has \(Self.memoryLimitKiB * 1024) bytes (4.0 GiB) available")
        XCTAssertLessThan(seconds, 20)
    }

    /// A real model's shape (Llama 3.1 405B, 1.6 TB of Float32 weights) that the memory available
    /// cannot hold.
    func testInit_modelLargerThanThisMachine_isRefusedWithTheFigures() throws {
        let model = try writeConfig("405b", [
            "hidden_size": 16384, "intermediate_size": 53248, "num_hidden_layers": 126, "num_attention_heads": 128,
            "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072,
        ])
        let needed = try XCTUnwrap(LlamaConfig(
            vocabSize: 128256, hiddenSize: 16384, intermediateSize: 53248, numHiddenLayers: 126, numAttentionHeads: 128,
            numKeyValueHeads: 8, maxPositionEmbeddings: 131072).footprint.bytes)
        let (r, seconds) = try runLimited(["init", "--config", "\(model)/config.json", "--out", "\(dir)/out"])
        // The address-space limit is the memory available to the tool, whatever the machine has.
        r.assertRefused("'num_hidden_layers'", "does not fit in memory", "\(needed) bytes",
                        "this machine has \(Self.memoryLimitKiB * 1024) bytes (4.0 GiB) available")
        XCTAssertLessThan(seconds, 20)
    }
}
