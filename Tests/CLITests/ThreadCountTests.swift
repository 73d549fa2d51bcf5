import Foundation
import XCTest

/// The same seeds give the same bits with 1 and 2 threads: training (sft and dpo, whose steps
/// use every training kernel: sgemm split by OpenBLAS, attention split by sequence, row-chunked
/// element-wise kernels) and sampled generation, each run as `rlhf` with RLHF_THREADS and
/// OPENBLAS_NUM_THREADS set.
final class ThreadCountTests: XCTestCase {
    private let demo = "\(CLIProcess.repoRoot)/data/demo"

    private func run(_ args: [String], threads: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        var env = ProcessInfo.processInfo.environment
        if let threads {
            env["RLHF_THREADS"] = String(threads)
            env["OPENBLAS_NUM_THREADS"] = String(threads)
        }
        let r = try CLIProcess.run(args, environment: env)
        XCTAssertEqual(r.status, 0, "rlhf \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return try r.json()
    }

    func testTrainingAndSampling_giveTheSameBitsWithOneAndTwoThreads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("threads-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try run(["tokenizer", "train", "--input", "\(demo)/eval.jsonl", "--vocab-size", "400", "--out", "\(dir)/base"])
        // Products big enough for OpenBLAS to split over two threads (it keeps those under 2^18
        // multiply-adds on one), batches of 8 sequences for attention to split.
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 64,
            "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        _ = try run(["init", "--config", "\(dir)/config.json", "--out", "\(dir)/base", "--seed", "1"])
        let common = ["--train_file", "\(demo)/train.jsonl", "--max_train_samples", "48", "--eval_file", "\(demo)/eval.jsonl",
                      "--max_eval_samples", "16", "--max_seq_length", "64", "--per_device_train_batch_size", "8",
                      "--gradient_accumulation_steps", "2", "--logging_steps", "1", "--max_steps", "3", "--learning_rate", "3e-3"]

        var saved: [Int: [String: Data]] = [:], losses: [Int: [String]] = [:], sampled: [Int: [Int]] = [:]
        for threads in [1, 2] {
            let env = try run(["env", "--no-peak"], threads: threads)
            XCTAssertEqual(env["compute_threads"] as? Int, threads, "the tool runs its kernels on \(threads) threads")
            // OpenBLAS is set once to one thread; our own threads split its large products.
            XCTAssertEqual(env["blas_threads"] as? Int, 1, "OpenBLAS's own count is never switched from 1")
            for stage in ["sft", "dpo"] {
                let output = "\(dir)/\(stage)-\(threads)"
                _ = try run(["train", stage, "--model_name_or_path", "\(dir)/base", "--output_dir", output] + common, threads: threads)
                saved[threads, default: [:]][stage] = try Data(contentsOf: URL(fileURLWithPath: "\(output)/model.safetensors"))
                // Every metrics line but the timings.
                let lines = try String(contentsOfFile: "\(output)/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
                    var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    object["tokens_per_s"] = nil
                    object["padded_tokens_per_s"] = nil
                    return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
                }
                losses[threads, default: []] += lines
            }
            let prompt = (0..<40).map { String(4 + $0 * 37 % 390) }.joined(separator: " ")
            let generated = try run(["generate", "--model", "\(dir)/sft-\(threads)", "--ids", prompt, "--max-new-tokens", "48",
                                     "--temperature", "1.0", "--seed", "5", "--ignore-eos"], threads: threads)
            sampled[threads] = try XCTUnwrap(generated["ids"] as? [Int])
        }
        for stage in ["sft", "dpo"] {
            XCTAssertTrue(saved[1]?[stage] == saved[2]?[stage], "\(stage): model.safetensors differs between 1 and 2 threads")
        }
        XCTAssertEqual(losses[1], losses[2], "metrics lines (timings aside)")
        XCTAssertEqual(sampled[1]?.count, 88)
        XCTAssertEqual(sampled[1], sampled[2], "sampled ids")
    }
}
