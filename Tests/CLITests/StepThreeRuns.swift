import Foundation
import XCTest

/// Tiny step-3 runs for the tests that launch them: a tokenizer, a random 2-layer model and a
/// one-update reward model (made once per test process), and topology files for them.
enum StepThreeRuns {
    static let demo = "\(CLIProcess.repoRoot)/data/demo"
    nonisolated(unsafe) private static var models: String?

    /// The directory holding `base/` (tokenizer and random model) and `rm/` (reward model).
    static func modelsDirectory() throws -> String {
        if let m = models { return m }
        let dir = try temporaryDirectory("step3-models")
        try succeed(["tokenizer", "train", "--input", "\(demo)/eval.jsonl", "--vocab-size", "400", "--out", "\(dir)/base",
                     "--character-coverage", "1.0"])
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
            "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        try succeed(["init", "--config", "\(dir)/config.json", "--out", "\(dir)/base", "--seed", "1"])
        try succeed(["train", "rm", "--model_name_or_path", "\(dir)/base", "--train_file", "\(demo)/train.jsonl",
                     "--max_train_samples", "16", "--max_steps", "1", "--max_seq_length", "96", "--per_device_train_batch_size", "8",
                     "--output_dir", "\(dir)/rm", "--logging_steps", "1"])
        models = dir
        return dir
    }

    /// A fresh directory under the system's temporary directory.
    static func temporaryDirectory(_ prefix: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A random first port for a tcp run: below Linux's ephemeral range (32768-60999), where the
    /// outgoing port of a client that dials a role not yet bound (every 100 ms) could take the
    /// role's own port first ("Address already in use", seen with many peers dialling at once).
    static func basePort() -> Int { Int.random(in: 20_000...32_000) }

    /// Runs the tool and fails the test (and throws) unless it exits 0.
    @discardableResult
    static func succeed(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIProcess.Result {
        let r = try CLIProcess.run(args)
        r.assertSucceeded("rlhf \(args.prefix(3).joined(separator: " "))", file: file, line: line)
        guard r.status == 0 else { throw CLIFailure(description: "rlhf \(args.joined(separator: " ")) failed") }
        return r
    }

    /// Writes `DIR/NAME.yaml` for the tiny models, its run in `DIR/NAME`.
    /// - Parameters:
    ///   - algorithm: ppo, grpo or rloo (two samples per prompt for the critic-free ones).
    ///   - reward: the `models.reward` value (the tiny reward model by default).
    ///   - extra: more lines of `algorithm:`.
    ///   - schedule: more entries of `schedule:`.
    ///   - replicas: `replicas:` of the roles named (naming `generator` adds that role).
    ///   - transport: the `transport:` entries after `kind:`. A tcp transport that names neither
    ///     `keys` nor `insecure` gets the run's CURVE keys, made by `rlhf keys` in `DIR/NAME-keys`.
    static func topology(_ dir: String, name: String, transport: String = "ipc", algorithm: String = "ppo",
                         iterations: Int = 3, saveEvery: Int = 2, reward: String? = nil, extra: [String] = [],
                         schedule: String = "", replicas: [String: Int] = [:]) throws -> String {
        let m = try modelsDirectory()
        var roles = ["actor", "reference", "reward", "buffer"]
        if algorithm == "ppo" { roles.insert("critic", at: 3) }
        // A generator role only when asked for (else the actor generates).
        if replicas["generator"] != nil { roles.append("generator") }
        let samples = algorithm == "ppo" ? [] : ["samples_per_prompt: 2"]
        let needsKeys = transport.hasPrefix("tcp") && !transport.contains("keys:") && !transport.contains("insecure:")
        let transport = needsKeys ? transport + ", keys: \(dir)/\(name)-keys" : transport
        let text = """
            run: {name: \(name), directory: \(dir)/\(name), seed: 7}
            models:
              actor: {path: \(m)/base}
              reward: \(reward ?? "{path: \(m)/rm}")
              critic: {path: \(m)/rm}
            roles:
            \(roles.map { "  \($0): {threads: 1\(replicas[$0].map { ", replicas: \($0)" } ?? "")}" }.joined(separator: "\n"))
            transport: {kind: \(transport)}
            algorithm:
              name: \(algorithm)
              max_new_tokens: 8
              max_prompt_length: 48
              prompts_per_iteration: 4
              mini_batch_size: 4
              actor_learning_rate: 1.0e-3
              critic_learning_rate: 1.0e-3
              warmup_steps: 1
            \((samples + extra).map { "  " + $0 }.joined(separator: "\n"))
            data: {prompts: \(demo)/heldout_prompts.jsonl\(schedule.contains("eval_every") ? ", eval_prompts: \(demo)/heldout_prompts.jsonl" : "")}
            schedule: {iterations: \(iterations), save_every: \(saveEvery)\(schedule.isEmpty ? "" : ", " + schedule)}
            """
        let path = "\(dir)/\(name).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if needsKeys { try succeed(["keys", "--topology", path]) }
        return path
    }

    /// A `models.reward` value: a program in `dir` that scores each answer by its length, slowly
    /// (30 ms an answer: an iteration of a GRPO run takes about 0.3 s, time for a test to
    /// kill or stop a role in the middle of a run).
    static func slowLengthReward(_ dir: String) throws -> String {
        let program = "\(dir)/slow-length.sh"
        try RunPaths.script(program, """
            #!/bin/sh
            while IFS= read -r line; do
              sleep 0.03
              response=$(printf '%s' "$line" | sed 's/.*"response":"\\([^"]*\\)".*/\\1/')
              echo "{\\"score\\": ${#response}}"
            done
            """)
        return "{program: {command: [\(program)], timeout_seconds: 30}}"
    }

    /// Each line of a run's metrics.jsonl, as numbers.
    static func metrics(_ run: String) throws -> [[String: Double]] {
        try String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return o.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
}
