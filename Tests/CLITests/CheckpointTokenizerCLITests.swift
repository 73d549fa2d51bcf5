import Foundation
import TestSupport
import XCTest

/// A checkpoint directory in the Qwen2 or Llama 3 layout, with only `tokenizer.json`,
/// `tokenizer_config.json` and a Jinja chat template for its text pipeline, goes through
/// `rlhf data inspect`, `rlhf train sft` and `rlhf generate --prompt`, with the ids the Rust
/// tokenizers library gives (Tests/TokenizationTests/Fixtures/hf, written by
/// Scripts/make-hf-tokenizer-fixtures).
final class CheckpointTokenizerCLITests: XCTestCase {
    private var demo: String { "\(CLIProcess.repoRoot)/data/demo" }
    private var fixtures: String { "\(CLIProcess.repoRoot)/Tests/TokenizationTests/Fixtures" }

    private func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIProcess.Result {
        let r = try CLIProcess.run(args)
        XCTAssertEqual(r.status, 0, "rlhf \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    /// A random tiny model of `architecture` beside the fixture tokenizer `layout`, with
    /// `template` (a checkpoint template from the chat fixtures) as its chat_template.jinja.
    private func checkpoint(_ layout: String, architecture: String, template: String?, in dir: String) throws -> String {
        let path = "\(dir)/\(layout)-checkpoint"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: "\(fixtures)/hf/\(layout)/\(name)", toPath: "\(path)/\(name)")
        }
        if let template {
            try FileManager.default.copyItem(atPath: "\(fixtures)/chat/templates/\(template).jinja", toPath: "\(path)/chat_template.jinja")
        }
        let config: [String: Any] = [
            "architectures": [architecture], "model_type": architecture.hasPrefix("Qwen2") ? "qwen2" : "llama", "vocab_size": 1280,
            "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "tie_word_embeddings": true,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/\(layout)-config.json"))
        _ = try run(["init", "--config", "\(dir)/\(layout)-config.json", "--out", path, "--seed", "1"])
        return path
    }

    private struct Case: Decodable {
        var text: String
        var ids_special: [Int]
    }

    private func cases(_ layout: String) throws -> [Case] {
        struct File: Decodable { var cases: [Case] }
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/hf/\(layout)/expected.json"))
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    func testQwen2AndLlama3Checkpoints_inspectTrainAndGenerateWithTheLibrarysIDs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hf-checkpoint-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qwen = try checkpoint("qwen2", architecture: "Qwen2ForCausalLM", template: "qwen2.5-instruct", in: dir)
        let llama = try checkpoint("llama3", architecture: "LlamaForCausalLM", template: "llama3-instruct", in: dir)

        // generate --prompt: the prompt ids are the library's, bos added where the tokenizer adds it.
        for (layout, path) in [("qwen2", qwen), ("llama3", llama)] {
            let all = try cases(layout)
            let chosen = all.filter { !$0.text.isEmpty && !$0.text.hasPrefix("-") }.prefix(6)
            XCTAssertEqual(chosen.count, 6)
            for sample in chosen {
                let out = try run(["generate", "--model", path, "--prompt", sample.text, "--max-new-tokens", "2", "--greedy"]).json()
                let ids = try XCTUnwrap(out["ids"] as? [Int])
                XCTAssertEqual(Array(ids.prefix(sample.ids_special.count)), sample.ids_special, "\(layout): \(sample.text.debugDescription)")
                XCTAssertEqual(ids.count, sample.ids_special.count + 2)
                XCTAssertNotNil(out["text"] as? String)
                let encoded = try run(["tokenizer", "encode", "--tokenizer", path, "--text", sample.text, "--add-special-tokens"]).json()
                XCTAssertEqual(encoded["ids"] as? [Int], sample.ids_special, "\(layout): \(sample.text.debugDescription)")
            }
        }

        // data inspect: in tokens of the checkpoint's tokenizer, rendered with its own template
        // (Qwen2.5's default system prompt included).
        let inspect = try run(["data", "inspect", "\(demo)/eval.jsonl", "--tokenizer", qwen, "--count", "1"]).stdout
        XCTAssertTrue(inspect.contains("checkpoint template (\(qwen)/chat_template.jinja)"), inspect)
        XCTAssertTrue(inspect.contains("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>"), inspect)
        XCTAssertTrue(inspect.contains("tokens"), inspect)

        // train sft: the saved model keeps the checkpoint's tokenizer files and template.
        let out = try run(["train", "sft", "--model_name_or_path", qwen, "--output_dir", "\(dir)/sft", "--max_steps", "2",
                           "--train_file", "\(demo)/train.jsonl", "--max_train_samples", "16", "--max_seq_length", "96",
                           "--per_device_train_batch_size", "8", "--logging_steps", "1", "--learning-rate=1e-3"]).json()
        XCTAssertEqual(out["global_step"] as? Int, 2)
        for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
            XCTAssertEqual(FileManager.default.contents(atPath: "\(dir)/sft/\(name)"), FileManager.default.contents(atPath: "\(qwen)/\(name)"), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/sft/chat_template.json"), "the checkpoint's template stays the template")
        let answer = try run(["generate", "--model", "\(dir)/sft", "--prompt", "Add 15 and 72.", "--max-new-tokens", "2", "--greedy"]).json()
        XCTAssertEqual(Array((answer["ids"] as? [Int] ?? []).prefix(2)).count, 2)

        // Step 3 (GRPO, the demo tasks' rule checker decoding answers with this tokenizer), and a
        // replay that shows the prompt rendered by the checkpoint's template.
        let topology = """
            run: {name: grpo, directory: \(dir)/grpo, seed: 7}
            models:
              actor: {path: \(dir)/sft}
              reward: {rule: demo-tasks}
            roles:
              actor: {threads: 1}
              reference: {threads: 1}
              reward: {threads: 1}
              buffer: {threads: 1}
            transport: {kind: inproc}
            algorithm: {name: grpo, samples_per_prompt: 2, max_new_tokens: 6, max_prompt_length: 160, prompts_per_iteration: 2, mini_batch_size: 4}
            data: {prompts: \(demo)/heldout_prompts.jsonl}
            schedule: {iterations: 2, save_every: 2}

            """
        try topology.write(toFile: "\(dir)/grpo.yaml", atomically: true, encoding: .utf8)
        _ = try run(["launch", "\(dir)/grpo.yaml"])
        for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
            XCTAssertEqual(FileManager.default.contents(atPath: "\(dir)/grpo/final/\(name)"), FileManager.default.contents(atPath: "\(qwen)/\(name)"), name)
        }
        let shown = try run(["replay", "show", "\(dir)/grpo", "--iteration", "1"]).stdout
        XCTAssertTrue(shown.contains("prompt:   \"<|im_start|>system\\nYou are Qwen"), shown)
        XCTAssertTrue(shown.contains("<|im_end|>\\n<|im_start|>assistant\\n\""), shown)
    }
}
