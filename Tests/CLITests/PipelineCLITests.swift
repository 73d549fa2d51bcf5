import Foundation
import TestSupport
import XCTest

/// `rlhf pipeline` as its users run it: a whole pipeline on tiny settings (a 2-layer model, a
/// few updates per step, two iterations of step 3 over five processes), a rerun that skips every
/// step, `--force` of one step, a resumed step 3, and a bad pipeline file.
final class PipelineCLITests: XCTestCase {
    private static let demo = "\(CLIProcess.repoRoot)/data/demo"

    private func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The tiny pipeline's files in `dir`: model config, topology, a 64-record eval file, the pipeline.
    private func tinyPipeline(_ dir: String) throws -> String {
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
            "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        let eval = try String(contentsOfFile: "\(Self.demo)/eval.jsonl", encoding: .utf8).split(separator: "\n").prefix(64)
        try (eval.joined(separator: "\n") + "\n").write(toFile: "\(dir)/eval.jsonl", atomically: true, encoding: .utf8)
        // The run directory and models are placeholders the pipeline replaces with its own.
        let topology = """
            run: {name: tiny, directory: runs/elsewhere, seed: 7}
            models:
              actor: {path: runs/sft}
              reference: {path: runs/sft}
              reward: {path: runs/rm}
              critic: {path: runs/rm}
            roles:
              actor: {threads: 1}
              reference: {threads: 1}
              reward: {threads: 1}
              critic: {threads: 1}
              buffer: {threads: 1}
            transport: {kind: ipc}
            algorithm: {name: ppo, max_new_tokens: 8, max_prompt_length: 48, prompts_per_iteration: 4, mini_batch_size: 4,
                        actor_learning_rate: 1.0e-3, critic_learning_rate: 1.0e-3, warmup_steps: 1}
            data: {prompts: \(Self.demo)/heldout_prompts.jsonl}
            schedule: {iterations: 2, save_every: 1}
            """
        try topology.write(toFile: "\(dir)/tiny-topology.yaml", atomically: true, encoding: .utf8)
        let common = "train_file: \(dir)/eval.jsonl, max_seq_length: 96, per_device_train_batch_size: 8, logging_steps: 1, learning_rate: 3.0e-3"
        let pipeline = """
            output_dir: \(dir)/out
            tokenizer: {input: \(Self.demo)/eval.jsonl, vocab_size: 400, character_coverage: 1.0}
            model: {config: \(dir)/config.json, seed: 1}
            pretrain:
              overrides: {\(common), max_steps: 2, packing: true}
            sft:
              overrides: {\(common), max_steps: 3, save_steps: 2}
            reward_model:
              overrides: {\(common), max_steps: 2}
            rl: {topology: \(dir)/tiny-topology.yaml}
            evaluation: {eval_file: \(dir)/eval.jsonl, prompts: \(Self.demo)/heldout_prompts.jsonl, num_prompts: 8, show: 2,
                         max_new_tokens: 8, batch_size: 8}
            """
        try pipeline.write(toFile: "\(dir)/pipeline.yaml", atomically: true, encoding: .utf8)
        return "\(dir)/pipeline.yaml"
    }

    /// Every file under `root` and its modification time.
    private func modificationTimes(_ root: String) throws -> [String: Date] {
        var out: [String: Date] = [:]
        let walker = FileManager.default.enumerator(atPath: root)
        while let name = walker?.nextObject() as? String {
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(root)/\(name)")
            if attributes[.type] as? FileAttributeType == .typeRegular { out[name] = attributes[.modificationDate] as? Date }
        }
        return out
    }

    private func steps(_ output: String, saying phrase: String) -> [String] {
        output.split(separator: "\n").filter { $0.hasPrefix("== step ") && $0.contains(phrase) }.map { line in
            String(line.split(separator: " ")[3])
        }
    }

    private func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any], path)
    }

    func testPipeline_runsEveryStep_rerunSkipsThem_forceRedoesOneAndWhatReadsIt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try tinyPipeline(dir)
        let out = "\(dir)/out"
        let all = ["tokenizer", "init", "pretrain", "sft", "sft-eval", "rm", "rm-eval", "rl", "compare"]

        // First run: every step, in order, then the table.
        let first = try CLIProcess.run(["pipeline", "--config", file])
        first.assertSucceeded("pipeline")
        for (k, step) in all.enumerated() {
            XCTAssertTrue(first.stdout.contains("== step \(k + 1)/9: \(step) ("), "no progress line for \(step): \(first.stdout.suffix(3000))")
        }
        XCTAssertTrue(steps(first.stdout, saying: "skipped").isEmpty)
        XCTAssertTrue(first.stdout.contains("rule-checked accuracy"), first.stdout)
        XCTAssertTrue(first.stdout.contains("KL to the SFT model"), first.stdout)
        XCTAssertTrue(first.stdout.contains("answers side by side"), first.stdout)
        XCTAssertTrue(first.stdout.contains("rl | launching actor, reference, reward, critic, buffer"), "step 3 went through launch: \(first.stdout)")
        for role in ["actor", "reference", "reward", "critic", "buffer"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/rl/logs/\(role).log"), "the \(role) role ran in its own process")
        }
        // The topology copy points at the pipeline's own models and run directory.
        let topology = try String(contentsOfFile: "\(out)/rl-topology.yaml", encoding: .utf8)
        XCTAssertTrue(topology.contains("path: \(out)/sft"), topology)
        XCTAssertTrue(topology.contains("path: \(out)/rm"), topology)
        XCTAssertTrue(topology.contains("directory: \(out)/rl"), topology)
        XCTAssertFalse(topology.contains("runs/"), topology)

        let summary = try json("\(out)/pipeline_summary.json")
        let sft = try XCTUnwrap(summary["sft"] as? [String: Any]), rlhf = try XCTUnwrap(summary["rlhf"] as? [String: Any])
        XCTAssertEqual(summary["prompts"] as? Int, 8)
        XCTAssertEqual(sft["checked"] as? Int, 8, "the held-out prompts are demo tasks the checker knows")
        XCTAssertEqual(sft["mean_kl_to_sft"] as? Double, 0)
        for figures in [sft, rlhf] {
            for key in ["mean_reward", "mean_kl_to_sft", "accuracy", "mean_answer_tokens"] {
                let v = try XCTUnwrap(figures[key] as? Double, "\(key) is a number: \(figures)")
                XCTAssertTrue(v.isFinite, "\(key) \(v)")
            }
        }
        XCTAssertEqual((summary["samples"] as? [Any])?.count, 8)
        let state = try XCTUnwrap(try json("\(out)/pipeline_state.json")["steps"] as? [String: [String: Any]])
        XCTAssertEqual(Set(state.keys), Set(all))
        XCTAssertTrue(state.values.allSatisfy { $0["status"] as? String == "done" }, "\(state)")

        // Rerun: every step skipped, no file touched, the table shown again.
        let before = try modificationTimes(out)
        let second = try CLIProcess.run(["pipeline", "--config", file])
        second.assertSucceeded("rerun")
        XCTAssertEqual(steps(second.stdout, saying: "done, skipped"), all, second.stdout)
        XCTAssertEqual(try modificationTimes(out), before, "a rerun with every step done writes nothing")
        XCTAssertTrue(second.stdout.contains("rule-checked accuracy"), second.stdout)

        // --force rm: rm and what reads it (its evaluation, step 3, the comparison) run again; the rest is kept.
        let forced = try CLIProcess.run(["pipeline", "--config", file, "--force", "rm"])
        forced.assertSucceeded("--force rm")
        XCTAssertTrue(forced.stdout.contains("--force: redoing rm, rm-eval, rl, compare"), forced.stdout)
        XCTAssertEqual(steps(forced.stdout, saying: "done, skipped"), ["tokenizer", "init", "pretrain", "sft", "sft-eval"], forced.stdout)
        let after = try modificationTimes(out)
        XCTAssertEqual(after["sft/model.safetensors"], before["sft/model.safetensors"])
        XCTAssertEqual(after["eval-sft.txt"], before["eval-sft.txt"])
        XCTAssertNotEqual(after["rm/model.safetensors"], before["rm/model.safetensors"])
        XCTAssertNotEqual(after["rl/final/model.safetensors"], before["rl/final/model.safetensors"])
        XCTAssertNotEqual(after["pipeline_summary.json"], before["pipeline_summary.json"])

        // Step 3 interrupted after its first checkpoint: the rerun resumes it with `launch --resume`.
        try FileManager.default.removeItem(atPath: "\(out)/rl/final")
        try FileManager.default.removeItem(atPath: "\(out)/rl/checkpoint-2")
        var saved = try json("\(out)/pipeline_state.json")
        var records = try XCTUnwrap(saved["steps"] as? [String: [String: Any]])
        records["rl"]?["status"] = "running"
        saved["steps"] = records
        try JSONSerialization.data(withJSONObject: saved).write(to: URL(fileURLWithPath: "\(out)/pipeline_state.json"))
        let resumed = try CLIProcess.run(["pipeline", "--config", file])
        resumed.assertSucceeded("resume")
        XCTAssertTrue(resumed.stdout.contains("resuming from \(out)/rl/checkpoint-1"), resumed.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/rl/final/model.safetensors"))
        XCTAssertEqual(steps(resumed.stdout, saying: "done, skipped"), ["tokenizer", "init", "pretrain", "sft", "sft-eval", "rm", "rm-eval"])
    }

    /// Ctrl-C during step 1 stops the pipeline (status 130, the step left `running`, no process
    /// left behind); the same command then resumes step 1 from its latest checkpoint and finishes.
    func testInterruptedPipeline_resumesTheStepFromItsCheckpoint() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var file = try tinyPipeline(dir)
        // A longer step 1 that saves often, so that the interruption lands inside it.
        let text = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: "max_steps: 3, save_steps: 2", with: "max_steps: 600, save_steps: 5")
        file = "\(dir)/long.yaml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let out = "\(dir)/out"

        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIProcess.executable)
        process.arguments = ["pipeline", "--config", file]
        FileManager.default.createFile(atPath: "\(dir)/first.txt", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/first.txt"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        // Interrupt inside step 1, after its first checkpoint: not after a fixed time, which on
        // a loaded machine can fall before step 1 starts.
        let checkpoint = "\(out)/sft/checkpoint-5/trainer_state.json"
        do {
            try waitUntil("step 1 to save \(checkpoint)", timeout: .seconds(240)) {
                FileManager.default.fileExists(atPath: checkpoint) || !process.isRunning
            }
        } catch {
            process.terminate()
            throw error
        }
        guard process.isRunning else {
            let log = (try? String(contentsOfFile: "\(dir)/first.txt", encoding: .utf8)) ?? ""
            return XCTFail("the pipeline ended before step 1 saved checkpoint-5: \(log)")
        }
        process.interrupt()  // SIGINT, as Ctrl-C
        process.waitUntilExit()
        try log.close()
        let first = try String(contentsOfFile: "\(dir)/first.txt", encoding: .utf8)
        XCTAssertEqual(process.terminationStatus, 130, first)
        XCTAssertTrue(first.contains("interrupted during sft"), first)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/sft/\(trainerState)"), "step 1 did not finish")
        let records = try XCTUnwrap(try json("\(out)/pipeline_state.json")["steps"] as? [String: [String: Any]])
        XCTAssertEqual(records["sft"]?["status"] as? String, "running")
        XCTAssertEqual(records["pretrain"]?["status"] as? String, "done")
        XCTAssertTrue(trainProcesses(out).isEmpty, "the step's process was stopped with the pipeline")

        let second = try CLIProcess.run(["pipeline", "--config", file])
        second.assertSucceeded("the resumed pipeline")
        XCTAssertEqual(steps(second.stdout, saying: "done, skipped"), ["tokenizer", "init", "pretrain"], second.stdout)
        XCTAssertTrue(second.stdout.contains("sft was interrupted; running it again from its checkpoint"), second.stdout)
        XCTAssertTrue(second.stdout.contains("resumed from \(out)/sft/checkpoint-"), "train sft resumed: \(second.stdout)")
        let state = try XCTUnwrap(try json("\(out)/sft/\(trainerState)")["global_step"] as? Int)
        XCTAssertEqual(state, 600)
    }

    private let trainerState = "trainer_state.json"

    /// `rlhf train` processes writing under `root`.
    private func trainProcesses(_ root: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let cmd = String(decoding: raw, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
            return cmd.contains(" train ") && cmd.contains(root)
        }
    }

    /// Unknown keys and wrong types are refused with the file and line, all at once, before any step runs.
    func testBadPipelineFile_namesFileAndLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/bad.yaml"
        try """
            output_dir: \(dir)/out
            tokenizer: {input: \(Self.demo)/eval.jsonl, vocab_size: 400}
            model: {config: \(CLIProcess.repoRoot)/recipes/demo-model.json}
            sft:
              recipe: \(CLIProcess.repoRoot)/recipes/sft-demo.yaml
              learning_rat: 1.0e-3
            reward_model: {recipe: \(CLIProcess.repoRoot)/recipes/rm-demo.yaml}
            rl: {topology: \(CLIProcess.repoRoot)/topologies/quickstart.yaml}
            evaluation:
              eval_file: \(Self.demo)/eval.jsonl
              prompts: \(Self.demo)/heldout_prompts.jsonl
              num_prompts: many
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try CLIProcess.run(["pipeline", "--config", file])
        r.assertRefused("\(file):6:3: sft.learning_rat: unknown key", "\(file):12:16: evaluation.num_prompts: expected an integer")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out"), "nothing ran")

        try """
            output_dir: \(dir)/out
            tokenizer: {input: \(Self.demo)/eval.jsonl, vocab_size: 400}
            model: {config: \(CLIProcess.repoRoot)/recipes/demo-model.json}
            sft: {overrides: {output_dir: elsewhere, max_steps: 3}}
            reward_model: {recipe: \(dir)/missing.yaml}
            rl: {topology: \(CLIProcess.repoRoot)/topologies/quickstart.yaml}
            evaluation: {eval_file: \(Self.demo)/eval.jsonl, prompts: \(Self.demo)/heldout_prompts.jsonl}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let reserved = try CLIProcess.run(["pipeline", "--config", file])
        reserved.assertRefused("\(file):4:19: sft.overrides.output_dir: the pipeline sets this itself",
                               "\(file):5:24: reward_model.recipe: \(dir)/missing.yaml does not exist")
        let badStep = try CLIProcess.run(["pipeline", "--config", file, "--force", "ppo"])
        XCTAssertNotEqual(badStep.status, 0)
        XCTAssertTrue(badStep.stderr.contains("--force ppo: not a step; the steps are tokenizer, init, pretrain"), badStep.stderr)
    }
}
