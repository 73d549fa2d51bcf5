import Foundation
import TestSupport
import XCTest

/// `rlhf train` and `rlhf eval` as a user runs them: flags only, a tiny model, a few updates of
/// each stage, resume, and a refused recipe.
final class TrainCLITests: XCTestCase {
    private var demo: String { "\(CLIProcess.repoRoot)/data/demo" }

    private func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try CLIProcess.run(args)
        XCTAssertEqual(r.status, 0, "rlhf \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return try r.json()
    }

    func testStages_trainEvaluateAndResumeFromTheCommandLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try run(["tokenizer", "train", "--input", "\(demo)/eval.jsonl", "--vocab-size", "400", "--out", "\(dir)/base"])
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        _ = try run(["init", "--config", "\(dir)/config.json", "--out", "\(dir)/base", "--seed", "1"])
        let common = ["--train_file", "\(demo)/train.jsonl", "--max_train_samples", "64", "--eval_file", "\(demo)/eval.jsonl",
                      "--max_eval_samples", "16", "--max_seq_length", "64", "--per_device_train_batch_size", "8",
                      "--logging_steps", "2", "--save_steps", "2", "--save_total_limit", "1", "--learning-rate=1e-3"]

        var out = try run(["train", "sft", "--model_name_or_path", "\(dir)/base", "--output_dir", "\(dir)/sft", "--max_steps", "4"] + common)
        XCTAssertEqual(out["global_step"] as? Int, 4)
        XCTAssertNotNil(out["eval_loss"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/sft").filter { $0.hasPrefix("checkpoint-") }, ["checkpoint-4"])
        let metrics = try String(contentsOfFile: "\(dir)/sft/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 3, "two logging lines and the final evaluation: \(metrics)")

        // Two more updates from the last checkpoint.
        out = try run(["train", "sft", "--model_name_or_path", "\(dir)/base", "--output_dir", "\(dir)/sft", "--max_steps", "6",
                       "--resume_from_checkpoint", "latest"] + common)
        XCTAssertEqual(out["global_step"] as? Int, 6)

        out = try run(["train", "rm", "--model_name_or_path", "\(dir)/sft", "--output_dir", "\(dir)/rm", "--max_steps", "2"] + common)
        XCTAssertNotNil(out["eval_accuracy"])
        let rmConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/rm/config.json"))) as! [String: Any]
        XCTAssertEqual(rmConfig["architectures"] as? [String], ["LlamaForSequenceClassification"])
        out = try run(["eval", "rm", "--model", "\(dir)/rm", "--eval_file", "\(demo)/eval.jsonl", "--max_eval_samples", "16",
                       "--output", "\(dir)/rm-pairs.jsonl"])
        XCTAssertEqual(out["pairs"] as? Int, 16)
        // Accuracy by task and by mistake (the demo data's fields), and one line per pair that agrees with them.
        let byMistake = try XCTUnwrap(out["accuracy_by_mistake"] as? [String: Double])
        XCTAssertTrue(byMistake.keys.allSatisfy { $0.contains(": ") }, "\(byMistake.keys)")
        let pairs = try String(contentsOfFile: "\(dir)/rm-pairs.jsonl", encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(pairs.map { $0["line"] as? Int }, (1...16).map { $0 })
        let right = pairs.filter { ($0["margin"] as! Double) > 0 }.count
        XCTAssertEqual(Double(right) / 16, try XCTUnwrap(out["accuracy"] as? Double), accuracy: 1e-12)
        XCTAssertTrue(pairs.allSatisfy { $0["task"] is String && $0["mistake"] is String })

        // A LoRA reward model: PEFT's SEQ_CLS adapter with the trained score head beside it,
        // scored as it is by eval, and merged into a LlamaForSequenceClassification.
        out = try run(["train", "rm", "--model_name_or_path", "\(dir)/sft", "--output_dir", "\(dir)/rm-lora", "--max_steps", "2",
                       "--use_lora", "true", "--lora_r", "4"] + common)
        XCTAssertNotNil(out["eval_accuracy"])
        let adapterConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/rm-lora/adapter_config.json"))) as! [String: Any]
        XCTAssertEqual(adapterConfig["task_type"] as? String, "SEQ_CLS")
        XCTAssertEqual(adapterConfig["modules_to_save"] as? [String], ["score"])
        let weights = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "\(dir)/rm-lora/adapter_model.safetensors")).prefix(4096), as: UTF8.self)
        XCTAssertTrue(weights.contains("\"base_model.model.score.weight\""), "the score head is saved with the adapters")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/rm-lora/model.safetensors"))
        let adaptedEval = try run(["eval", "rm", "--model", "\(dir)/rm-lora", "--eval_file", "\(demo)/eval.jsonl", "--max_eval_samples", "16"])
        XCTAssertEqual(adaptedEval["pairs"] as? Int, 16)
        out = try run(["lora", "merge", "--base", "\(dir)/sft", "--adapter", "\(dir)/rm-lora", "--out", "\(dir)/rm-merged"])
        XCTAssertEqual(out["modules_to_save"] as? [String], ["score.weight"])
        let mergedConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/rm-merged/config.json"))) as! [String: Any]
        XCTAssertEqual(mergedConfig["architectures"] as? [String], ["LlamaForSequenceClassification"])
        let mergedEval = try run(["eval", "rm", "--model", "\(dir)/rm-merged", "--eval_file", "\(demo)/eval.jsonl", "--max_eval_samples", "16"])
        let loss = Closeness([try XCTUnwrap(mergedEval["loss"] as? Double)], [try XCTUnwrap(adaptedEval["loss"] as? Double)], atol: 1e-5)
        XCTAssertTrue(loss.passed, "merged vs adapted eval loss: \(loss)")

        out = try run(["train", "dpo", "--model_name_or_path", "\(dir)/sft", "--output_dir", "\(dir)/dpo", "--max_steps", "2"] + common)
        XCTAssertNotNil(out["eval_rewards/margins"])
        out = try run(["eval", "dpo", "--model", "\(dir)/dpo", "--ref", "\(dir)/sft", "--eval_file", "\(demo)/eval.jsonl",
                       "--max_eval_samples", "16"])
        XCTAssertNotNil(out["rewards/accuracies"])
        out = try run(["eval", "sft", "--model", "\(dir)/sft", "--base", "\(dir)/base", "--eval_file", "\(demo)/eval.jsonl",
                       "--max_eval_samples", "16", "--num_prompts", "4", "--show", "1", "--max_new_tokens", "4"])
        XCTAssertNotNil(out["tuned_loss"])
        XCTAssertEqual(out["checked_prompts"] as? Int, 4)
    }

    func testBadRecipe_isRefusedWithFileLineAndKey() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "model_name_or_path: m\nlearnig_rate: 0.1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLIProcess.run(["train", "sft", "--config", path])
        r.assertRefused("\(path):2: 'learnig_rate': unknown key (did you mean 'learning_rate'?)")
    }
}
