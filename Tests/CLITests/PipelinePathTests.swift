import Foundation
import XCTest

/// `rlhf pipeline` paths PipelineCLITests does not take (it covers the whole pipeline, a rerun,
/// `--force`, Ctrl-C during step 1 and a bad file): SIGTERM, a changed input file, a failed
/// step. A pipeline that never reaches step 3: tokenizer, init, a long step 1 that is stopped,
/// then a step 2 that fails on its data, so each run takes a few seconds.
final class PipelinePathTests: XCTestCase {
    private static let demo = StepThreeRuns.demo

    /// The pipeline's files in `dir`: model config, a 64-record eval file, an SFT recipe (600
    /// steps, a checkpoint every 5), and a reward-model step whose data has no preference pairs.
    private func pipeline(_ dir: String) throws -> (file: String, recipe: String, config: String) {
        let config = "\(dir)/config.json", recipe = "\(dir)/sft.yaml"
        try #"{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        let eval = try String(contentsOfFile: "\(Self.demo)/eval.jsonl", encoding: .utf8).split(separator: "\n").prefix(64)
        try (eval.joined(separator: "\n") + "\n").write(toFile: "\(dir)/eval.jsonl", atomically: true, encoding: .utf8)
        try """
            train_file: \(dir)/eval.jsonl
            max_seq_length: 96
            per_device_train_batch_size: 8
            logging_steps: 1
            learning_rate: 3.0e-3
            max_steps: 600
            save_steps: 5

            """.write(toFile: recipe, atomically: true, encoding: .utf8)
        // Never reached: step 2 fails first.
        let topology = try StepThreeRuns.topology(dir, name: "unused", transport: "ipc")
        let file = "\(dir)/pipeline.yaml"
        try """
            output_dir: \(dir)/out
            tokenizer: {input: \(Self.demo)/eval.jsonl, vocab_size: 400, character_coverage: 1.0}
            model: {config: \(config), seed: 1}
            sft: {recipe: \(recipe)}
            reward_model:
              overrides: {train_file: \(Self.demo)/heldout_prompts.jsonl, max_seq_length: 96, max_steps: 2}
            rl: {topology: \(topology)}
            evaluation: {eval_file: \(dir)/eval.jsonl, prompts: \(Self.demo)/heldout_prompts.jsonl, num_prompts: 4, show: 1,
                         max_new_tokens: 4, batch_size: 4}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return (file, recipe, config)
    }

    private func stepStatus(_ out: String) throws -> [String: String] {
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/pipeline_state.json")))
                                  as? [String: Any])
        let steps = try XCTUnwrap(state["steps"] as? [String: [String: Any]])
        return steps.compactMapValues { $0["status"] as? String }
    }

    /// SIGTERM during step 1 stops the pipeline with 143 (128 + 15), the step left `running` and
    /// no process of it behind. The recipe of that step then changes: the rerun starts it afresh
    /// rather than resuming a checkpoint made with other settings, and a done step whose config
    /// file changed is skipped with a note that `--force` redoes it. Step 2 then fails, and the
    /// pipeline stops naming it, its exit status and the path of its log, which holds the reason.
    func testSIGTERM_changedInputs_andAFailedStep() throws {
        let dir = try StepThreeRuns.temporaryDirectory("pipeline-paths")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (file, recipe, config) = try pipeline(dir)
        let out = "\(dir)/out"

        let first = try BackgroundCLI(["pipeline", "--config", file], outputFile: "\(dir)/first.txt")
        let inside = RunPaths.wait(seconds: 60) { FileManager.default.fileExists(atPath: "\(out)/sft/checkpoint-5/trainer_state.json") }
        kill(first.process.processIdentifier, SIGTERM)
        XCTAssertEqual(first.wait(), 143, first.output.suffix(2000).description)
        XCTAssertTrue(inside, "step 1 made no checkpoint: \(first.output.suffix(2000))")
        XCTAssertTrue(first.output.contains("interrupted during sft (signal 15)"), first.output.suffix(2000).description)
        XCTAssertEqual(try stepStatus(out)["sft"], "running")
        XCTAssertEqual(try stepStatus(out)["init"], "done")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/sft/trainer_state.json"), "step 1 did not finish")
        XCTAssertTrue(RunPaths.wait(seconds: 10) { RunPaths.liveProcesses(mentioning: "\(out)/sft").isEmpty },
                      "the step's process was stopped with the pipeline")

        // A shorter step 1, and the model config rewritten with other whitespace (other bytes).
        try String(contentsOfFile: recipe, encoding: .utf8).replacingOccurrences(of: "max_steps: 600", with: "max_steps: 6")
            .write(toFile: recipe, atomically: true, encoding: .utf8)
        try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: ", ", with: ",\n  ")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let second = try CLIProcess.run(["pipeline", "--config", file])
        XCTAssertEqual(second.status, 1, second.stdout.suffix(2000) + second.stderr)
        let said = second.stdout + second.stderr
        for phrase in [
            "== step 1/8: tokenizer (", "done, skipped",
            "--force init redoes it",
            "sft was interrupted; running it again\n",
            "step rm failed: rm exited with status 1; its output is in \(out)/logs/rm.log",
        ] {
            XCTAssertTrue(said.contains(phrase), "should say \"\(phrase)\": \(said.suffix(4000))")
        }
        let initLine = said.split(separator: "\n").first { $0.hasPrefix("== step 2/8: init") } ?? ""
        XCTAssertTrue(initLine.contains("done, skipped") && initLine.contains("changed since"), String(initLine))
        XCTAssertFalse(said.contains("resuming from"), "step 1 resumed a checkpoint of other settings: \(said.suffix(3000))")
        let trained = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/sft/trainer_state.json")))
                                    as? [String: Any])
        XCTAssertEqual(trained["global_step"] as? Int, 6, "step 1 ran afresh to the new recipe's 6 steps")
        let log = try String(contentsOfFile: "\(out)/logs/rm.log", encoding: .utf8)
        XCTAssertTrue(log.contains("expected a prompt/chosen/rejected record"), "the log holds the reason: \(log.suffix(1000))")
        XCTAssertEqual(try stepStatus(out)["sft"], "done")
        XCTAssertNotEqual(try stepStatus(out)["rm"], "done")
    }
}
