import Foundation
import XCTest

/// Paths a step-3 run can take that the launch tests do not: `rlhf train ppo|grpo|rloo`, the
/// in-run evaluation, the ptx stream across a resume, and a LoRA actor's base weights. Real
/// processes on the tiny models of `StepThreeRuns`, each run a few hundred milliseconds.
final class RunPathTests: XCTestCase {
    /// GRPO with dynamic sampling: 6 prompts answered, the 4 groups with signal kept, the same
    /// bits in four processes as in one, and the share of groups with signal logged.
    func testDynamicSampling_keepsGroupsWithSignal_andGivesTheSameBitsAcrossPlacements() throws {
        let dir = try RunPaths.temporaryDirectory("dynamic-sampling")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let extra = ["dynamic_sampling_prompts: 6", "temperature: 1.5"]
        let multi = try StepThreeRuns.topology(dir, name: "multi", algorithm: "grpo", iterations: 3, saveEvery: 3,
                                               reward: try StepThreeRuns.slowLengthReward(dir), extra: extra)
        let single = try StepThreeRuns.topology(dir, name: "single", algorithm: "grpo", iterations: 3, saveEvery: 3,
                                                reward: try StepThreeRuns.slowLengthReward(dir), extra: extra)
        try RunPaths.succeed(["launch", multi])
        try RunPaths.succeed(["launch", single, "--single-process"])
        XCTAssertEqual(try RunPaths.metricsWithoutTimings("\(dir)/multi"), try RunPaths.metricsWithoutTimings("\(dir)/single"))
        XCTAssertEqual(try StepThreeRuns.bytes("\(dir)/multi/final/model.safetensors"), try StepThreeRuns.bytes("\(dir)/single/final/model.safetensors"))
        for line in try RunPaths.metrics("\(dir)/multi") {
            let share = try XCTUnwrap(line["groups_with_signal"])
            XCTAssertTrue(share >= 0 && share <= 1, "\(share)")
        }
        let samples = try RunPaths.exportedSamples("\(dir)/multi")
        XCTAssertEqual(samples.count, 3 * 4 * 2, "4 prompts x 2 answers kept per iteration")
        // Kept groups first differ in score: with answers scored by their length, a group of
        // two equal lengths is kept only to fill in.
        let prompts = Set(samples.compactMap { $0["prompt"] as? String })
        XCTAssertGreaterThan(prompts.count, 4, "prompts from more than one iteration's first four")
        try CLIProcess.run(["launch", try StepThreeRuns.topology(dir, name: "bad", algorithm: "grpo", extra: ["dynamic_sampling_prompts: 3"])])
            .assertRefused("dynamic_sampling_prompts")
    }

    /// A role whose process takes longer to start than a probe interval (here every one of
    /// them: the interval is 20 ms) is awaited before the first request, not taken for a
    /// restarted process when it first answers: the run ends as usual.
    func testRolesSlowerToStartThanAProbeInterval_areAwaited() throws {
        let dir = try RunPaths.temporaryDirectory("slow-start")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // An actor of 26M parameters (105 MB) takes a few hundred milliseconds to load.
        let base = "\(try StepThreeRuns.modelsDirectory())/base"
        try #"{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 2, "num_attention_heads": 8, "max_position_embeddings": 128, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3}"#
            .write(toFile: "\(dir)/big.json", atomically: true, encoding: .utf8)
        try RunPaths.succeed(["init", "--config", "\(dir)/big.json", "--out", "\(dir)/big", "--seed", "3"])
        try FileManager.default.copyItem(atPath: "\(base)/tokenizer.model", toPath: "\(dir)/big/tokenizer.model")
        let topology = try StepThreeRuns.topology(dir, name: "slow", transport: "ipc, probe_interval_seconds: 0.02, silence_limit_seconds: 5",
                                                  algorithm: "grpo", iterations: 2, saveEvery: 2, reward: "{rule: demo-tasks}")
        let text = try String(contentsOfFile: topology, encoding: .utf8).replacingOccurrences(of: "actor: {path: \(base)}", with: "actor: {path: \(dir)/big}")
        try text.write(toFile: topology, atomically: true, encoding: .utf8)
        let r = try RunPaths.succeed(["launch", topology])
        XCTAssertFalse(r.stderr.contains("a new process answers"), r.stderr.suffix(2000).description)
        XCTAssertEqual(try RunPaths.metrics("\(dir)/slow").count, 2)
    }

    /// `rlhf train ALGORITHM --config FILE`, with `roles:` and `transport:` left out, runs every
    /// role in its process and writes what `rlhf launch --single-process` writes from the same
    /// settings: the same metrics, checkpoints, final model and experience log, bit for bit.
    func testTrainCommand_ppoGRPOAndRLOO_writeWhatLaunchWrites() throws {
        let dir = try RunPaths.temporaryDirectory("train-rl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for algorithm in ["ppo", "grpo", "rloo"] {
            var t = RunPaths.Topology(algorithm: algorithm, placement: false)
            if algorithm != "ppo" { t.algorithmLines = ["samples_per_prompt: 2"] }
            let trained = try RunPaths.topology(dir, name: "\(algorithm)-train", t)
            let r = try RunPaths.succeed(["train", algorithm, "--config", trained])
            let summary = try r.json()
            XCTAssertEqual(summary["algorithm"] as? String, algorithm)
            XCTAssertEqual(summary["final_model"] as? String, "\(dir)/\(algorithm)-train/final")
            XCTAssertNotNil(summary["reward/score"], "the last iteration's metrics: \(summary)")
            XCTAssertFalse(r.stderr.contains("launching"), "no role process was started")

            let launched = try RunPaths.topology(dir, name: "\(algorithm)-launch", t)
            try RunPaths.succeed(["launch", launched, "--single-process"])
            let (a, b) = ("\(dir)/\(algorithm)-train", "\(dir)/\(algorithm)-launch")
            XCTAssertEqual(try RunPaths.metricsWithoutTimings(a), try RunPaths.metricsWithoutTimings(b), algorithm)
            XCTAssertEqual(try RunPaths.metrics(a).map { $0["step"] }, [1, 2, 3], algorithm)
            for file in ["final/model.safetensors", "checkpoint-2/actor/model.safetensors", "checkpoint-3/actor/model.safetensors"] {
                XCTAssertEqual(try RunPaths.bytes("\(a)/\(file)"), try RunPaths.bytes("\(b)/\(file)"), "\(algorithm): \(file)")
            }
            XCTAssertEqual(FileManager.default.fileExists(atPath: "\(a)/checkpoint-3/critic"), algorithm == "ppo", algorithm)
            let diff = try RunPaths.succeed(["replay", "diff", a, b])
            XCTAssertTrue(diff.stdout.contains("bit for bit"), "\(algorithm): \(diff.stdout)")
            XCTAssertEqual(try RunPaths.exportedSamples(a).count, 3 * 4 * (algorithm == "ppo" ? 1 : 2), "a record per iteration")
        }
        // A file of another algorithm is refused, naming the command that runs it.
        let ppo = "\(dir)/ppo-train.yaml"
        try CLIProcess.run(["train", "grpo", "--config", ppo]).assertRefused("its algorithm is ppo", "rlhf train ppo")
    }

    /// `schedule.eval_every` with `data.eval_prompts`: every `eval_every` iterations and at the
    /// last, the metrics line carries `eval/task_accuracy` over the first `eval_size` prompts the
    /// rule checker recognises (`eval/checked`); the other lines carry neither.
    func testEvaluation_writesTaskAccuracyEveryNIterationsAndAtTheEnd() throws {
        let dir = try RunPaths.temporaryDirectory("eval")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Five prompts, the second not a demo task: the first four hold three the checker judges.
        let prompts = try String(contentsOfFile: "\(RunPaths.demo)/heldout_prompts.jsonl", encoding: .utf8).split(separator: "\n")
        let evalFile = "\(dir)/eval_prompts.jsonl"
        try ([prompts[0], #"{"prompt": "Tell me a story about a lighthouse.", "task": "story", "answer": "Once there was a lighthouse."}"#] + prompts[1...3])
            .joined(separator: "\n").write(toFile: evalFile, atomically: true, encoding: .utf8)
        let t = RunPaths.Topology(iterations: 5, saveEvery: 0, data: ["eval_prompts: \(evalFile)"],
                                  schedule: ["eval_every: 2", "eval_size: 4"])
        try RunPaths.succeed(["launch", try RunPaths.topology(dir, name: "eval", t)])
        let lines = try RunPaths.metrics("\(dir)/eval")
        XCTAssertEqual(lines.map { $0["step"] }, [1, 2, 3, 4, 5])
        for line in lines {
            let step = Int(line["step"] ?? 0)
            guard [2, 4, 5].contains(step) else {
                XCTAssertNil(line["eval/task_accuracy"], "step \(step) is not an evaluation step")
                XCTAssertNil(line["eval/checked"], "step \(step)")
                continue
            }
            XCTAssertEqual(line["eval/checked"], 3, "step \(step): the first 4 prompts hold 3 demo tasks")
            let accuracy = try XCTUnwrap(line["eval/task_accuracy"], "step \(step)")
            let right = accuracy * 3
            XCTAssertTrue(accuracy >= 0 && accuracy <= 1 && abs(right - right.rounded()) < 1e-9, "step \(step): \(accuracy)")
        }
    }

    /// The ptx stream continues across `--resume`: a run killed after its checkpoint and resumed
    /// trains on the same ptx batches as a run never stopped (the same `ptx_loss` at every step)
    /// and ends with the same weights, bit for bit, at max_staleness 0.
    func testPTXStream_continuesAcrossAResume() throws {
        let dir = try RunPaths.temporaryDirectory("ptx-resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Scores a response by its length; while the file named by $1 exists, it stops answering
        // at iteration 3 (its 9th line), so the run is killed at a known place, past checkpoint-2.
        let scorer = "\(dir)/length.sh"
        try RunPaths.script(scorer, """
            #!/bin/sh
            n=0
            while IFS= read -r line; do
              n=$((n + 1))
              if [ $n -gt 8 ] && [ -f "$1" ]; then touch "$1.reached"; cat > /dev/null; exit 0; fi
              r=${line#*\\"response\\":\\"}
              echo "{\\"score\\": $(( ${#r} % 7 )).5}"
            done
            """)
        func topology(_ name: String, armed: String) throws -> String {
            try RunPaths.topology(dir, name: name, RunPaths.Topology(
                iterations: 4, saveEvery: 2, reward: "{program: {command: [\(scorer), \(armed)], timeout_seconds: 60}}",
                algorithmLines: ["mini_batch_size: 2", "ptx_coef: 1.0"], data: ["ptx: \(RunPaths.demo)/eval.jsonl"], placement: false))
        }
        try RunPaths.succeed(["train", "ppo", "--config", try topology("straight", armed: "\(dir)/never")])

        let armed = "\(dir)/armed"
        FileManager.default.createFile(atPath: armed, contents: nil)
        let stopped = try topology("stopped", armed: armed)
        let first = try BackgroundCLI(["train", "ppo", "--config", stopped], outputFile: "\(dir)/first.txt")
        let reached = RunPaths.wait(seconds: 60) {
            FileManager.default.fileExists(atPath: "\(armed).reached")
                && FileManager.default.fileExists(atPath: "\(dir)/stopped/checkpoint-2/coordinator_state.json")
        }
        kill(first.process.processIdentifier, SIGKILL)
        first.wait()
        XCTAssertTrue(reached, "the run did not reach iteration 3: \(first.output.suffix(2000))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/stopped/checkpoint-4"))
        XCTAssertEqual(try RunPaths.metrics("\(dir)/stopped").count, 2, "killed during iteration 3")

        try FileManager.default.removeItem(atPath: armed)
        let resumed = try RunPaths.succeed(["train", "ppo", "--config", stopped, "--resume"])
        XCTAssertTrue(resumed.stderr.contains("resumed from \(dir)/stopped/checkpoint-2"), resumed.stderr)
        let straight = try RunPaths.metrics("\(dir)/straight"), again = try RunPaths.metrics("\(dir)/stopped")
        XCTAssertEqual(again.map { $0["step"] }, [1, 2, 3, 4])
        let ptx = straight.map { $0["ptx_loss"] }
        XCTAssertTrue(ptx.allSatisfy { ($0 ?? 0) > 0 }, "every step trained on ptx data: \(ptx)")
        XCTAssertEqual(again.map { $0["ptx_loss"] }, ptx, "the resumed run read other ptx batches")
        XCTAssertEqual(try RunPaths.metricsWithoutTimings("\(dir)/stopped"), try RunPaths.metricsWithoutTimings("\(dir)/straight"))
        XCTAssertEqual(try RunPaths.bytes("\(dir)/stopped/final/model.safetensors"),
                       try RunPaths.bytes("\(dir)/straight/final/model.safetensors"))
    }

    /// A LoRA actor (`models.actor.lora`) leaves its base untouched: the base directory's weights
    /// are the same bytes after the run; the trainer's base stays the generator's (the first
    /// mini-batch of each update sees ratio 1 exactly, though weight decay is on: an update that
    /// reached a frozen weight would move it); checkpoints and `final/` are PEFT adapters; and
    /// merged into the base, checkpoint-2's adapter gives the log-probabilities the run recorded
    /// for the batch it generated.
    func testLoRAActor_leavesTheBaseUntouched_andItsAdapterIsThePolicy() throws {
        let dir = try RunPaths.temporaryDirectory("lora-base")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = "\(try RunPaths.modelsDirectory())/base"
        let before = try RunPaths.bytes("\(base)/model.safetensors")
        let t = RunPaths.Topology(algorithm: "grpo", lora: "{r: 4, alpha: 8, dropout: 0.0, target_modules: [q_proj, v_proj]}",
                                  algorithmLines: ["samples_per_prompt: 2", "mini_batch_size: 8", "weight_decay: 0.1"])
        try RunPaths.succeed(["launch", try RunPaths.topology(dir, name: "lora", t)])
        let run = "\(dir)/lora"
        XCTAssertEqual(try RunPaths.bytes("\(base)/model.safetensors"), before, "the base model's file was written")
        for line in try RunPaths.metrics(run) {
            XCTAssertEqual(line["approx_kl"], 0, "the trainer's policy left the generator's before its update: \(line)")
            XCTAssertEqual(line["actor_updates"], 1)
        }
        for adapter in ["\(run)/final", "\(run)/checkpoint-2/actor"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(adapter)/model.safetensors"), "\(adapter) holds full weights")
            let config = try XCTUnwrap(JSONSerialization.jsonObject(with: RunPaths.bytes("\(adapter)/adapter_config.json")) as? [String: Any])
            XCTAssertEqual(config["peft_type"] as? String, "LORA")
            XCTAssertEqual(config["r"] as? Int, 4)
            XCTAssertEqual(config["lora_alpha"] as? Double, 8)
            XCTAssertEqual(config["base_model_name_or_path"] as? String, base)
            XCTAssertEqual(Set(config["target_modules"] as? [String] ?? []), ["q_proj", "v_proj"])
            let names = try tensorNames("\(adapter)/adapter_model.safetensors")
            XCTAssertEqual(names.count, 2 * 2 * 2, "A and B of q_proj and v_proj in 2 layers: \(names)")
            XCTAssertTrue(names.allSatisfy { $0.hasPrefix("base_model.model.model.layers.") && $0.contains(".lora_") }, "\(names)")
        }
        // Iteration 3 was generated by policy version 2, which checkpoint-2 saved.
        try RunPaths.succeed(["lora", "merge", "--base", base, "--adapter", "\(run)/checkpoint-2/actor", "--out", "\(dir)/merged"])
        let samples = try RunPaths.exportedSamples(run).filter { $0["iteration"] as? Int == 3 }
        XCTAssertEqual(samples.count, 8)
        var movedFromTheBase = 0.0
        for sample in samples.prefix(3) {
            let prompt = try XCTUnwrap(sample["prompt_ids"] as? [Int]), response = try XCTUnwrap(sample["response_ids"] as? [Int])
            let recorded = try XCTUnwrap(sample["logprob"] as? [Double]), reference = try XCTUnwrap(sample["ref_logprob"] as? [Double])
            let out = try RunPaths.succeed(["logprobs", "--model", "\(dir)/merged", "--ids", (prompt + response).map(String.init).joined(separator: " ")])
            let all = try XCTUnwrap(out.json()["logprobs"] as? [Double])
            let merged = Array(all[(prompt.count - 1)..<(prompt.count - 1 + response.count)])
            for (j, (m, r)) in zip(merged, recorded).enumerated() {
                XCTAssertEqual(m, r, accuracy: 2e-5, "token \(j): the merged adapter is not the policy that generated the batch")
            }
            movedFromTheBase = max(movedFromTheBase, zip(recorded, reference).map { abs($0 - $1) }.max() ?? 0)
        }
        XCTAssertGreaterThan(movedFromTheBase, 2e-4, "the adapters did not move the policy, so the comparison proves nothing")
    }

    /// The tensor names in a safetensors file's header.
    private func tensorNames(_ path: String) throws -> [String] {
        let data = try RunPaths.bytes(path)
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        return header.keys.filter { $0 != "__metadata__" }.sorted()
    }
}
