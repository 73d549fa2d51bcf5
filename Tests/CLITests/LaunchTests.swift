import Foundation
import TestSupport
import XCTest

/// Step 3 as its users run it: `rlhf launch` on a topology, the roles in their own processes or
/// in one, with tiny models made here (a tokenizer, a random 2-layer model, a reward model after
/// one update).
final class LaunchTests: XCTestCase {
    private static let demo = "\(CLIProcess.repoRoot)/data/demo"

    /// A tokenizer, a random base model and a one-update reward model, made once (`StepThreeRuns`).
    private func modelsDirectory() throws -> String { try StepThreeRuns.modelsDirectory() }

    @discardableResult
    private func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIProcess.Result {
        try StepThreeRuns.succeed(args, file: file, line: line)
    }

    /// A topology for the test models; `extra` lines go into `algorithm:`.
    private func topology(_ dir: String, name: String, transport: String, algorithm: String = "ppo", iterations: Int = 3,
                          saveEvery: Int = 2, reward: String? = nil, ptx: String? = nil, extra: [String] = [],
                          cores: [String: Int] = [:], lora: String? = nil, tensorBoard: Bool = false,
                          promptTemplate: String? = nil) throws -> String {
        let m = try modelsDirectory()
        let rewardLine = reward ?? "{path: \(m)/rm}"
        var roles = ["actor", "reference", "reward", "buffer"]
        if algorithm == "ppo" { roles.insert("critic", at: 3) }
        let text = """
            run: {name: \(name), directory: \(dir)/\(name), seed: 7\(tensorBoard ? ", report_to: [tensorboard]" : "")}
            models:
              actor: {path: \(m)/base\(lora.map { ", lora: \($0)" } ?? "")}
              reward: \(rewardLine)
              critic: {path: \(m)/rm}
            roles:
            \(roles.map { "  \($0): {threads: 1\(cores[$0].map { ", cores: [\($0)]" } ?? "")}" }.joined(separator: "\n"))
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
            \(extra.map { "  " + $0 }.joined(separator: "\n"))
            data: {prompts: \(Self.demo)/heldout_prompts.jsonl\(ptx.map { ", ptx: \($0)" } ?? "")\(promptTemplate.map { ", prompt_template: \"\($0)\"" } ?? "")}
            schedule: {iterations: \(iterations), save_every: \(saveEvery)}
            """
        let path = "\(dir)/\(name).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("launch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// metrics.jsonl without the timings.
    private func metrics(_ run: String) throws -> [[String: Double]] {
        try String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return o.filter { !$0.key.hasSuffix("_s") && !$0.key.hasPrefix("memory_") }.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The TensorBoard event files of a run (TensorBoardLogTests decodes their records).
    private func eventFiles(_ run: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(run)/runs").filter { $0.hasPrefix("events.out.tfevents.") }
    }

    /// How many scalars tagged `tag` an event file holds (tags are stored as plain UTF-8).
    private func tagCount(_ tag: String, in path: String) throws -> Int {
        let data = try bytes(path), needle = Data(tag.utf8)
        var count = 0, from = data.startIndex
        while let r = data.range(of: needle, in: from..<data.endIndex) { count += 1; from = r.upperBound }
        return count
    }

    /// `rlhf serve` processes whose command line mentions `marker`.
    private func serveProcesses(_ marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let cmd = String(decoding: raw, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
            return cmd.contains(" serve ") && cmd.contains(marker)
        }
    }

    // MARK: - Tests

    /// The five roles in five processes over ipc:// (and over tcp://) give the same bits, at
    /// max_staleness 0, as all of them in one process over inproc://: the same final actor, the
    /// same critic at each checkpoint and the same metrics.
    func testPPO_fiveProcessesGiveTheSameBitsAsOneProcess() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Pinned as the shipped quickstart topology pins them: each role process validates the
        // topology again from inside its own CPU mask.
        let second = ProcessInfo.processInfo.activeProcessorCount > 1 ? 1 : 0
        let multi = try topology(dir, name: "multi", transport: "ipc", cores: ["actor": 0, "critic": second])
        let r = try run(["launch", multi])
        for role in ["actor", "reference", "reward", "critic", "buffer"] {
            XCTAssertTrue(r.stderr.contains("\(role) "), "the \(role) process's lines are shown prefixed: \(r.stderr.suffix(2000))")
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/multi/logs/\(role).log"), "\(role).log")
        }
        XCTAssertTrue(serveProcesses(multi).isEmpty, "no role process is left running")
        let single = try topology(dir, name: "single", transport: "ipc")
        try run(["launch", single, "--single-process"])
        XCTAssertEqual(try bytes("\(dir)/multi/final/model.safetensors"), try bytes("\(dir)/single/final/model.safetensors"),
                       "the final actor differs between one process and five")
        XCTAssertEqual(try metrics("\(dir)/multi"), try metrics("\(dir)/single"))
        XCTAssertEqual(try metrics("\(dir)/multi").count, 3)
        // Generation is timed apart from its wait for the weights: strictly on-policy, the request
        // for batch i+1 waits while batch i trains.
        let timings = try String(contentsOfFile: "\(dir)/multi/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let waits = try timings.map { line in
            XCTAssertGreaterThan(try XCTUnwrap(line["generate_s"] as? Double), 0)
            return try XCTUnwrap(line["generate_wait_s"] as? Double)
        }
        XCTAssertEqual(waits.first, 0, "the first batch's weights are there from the start")
        // Each role's peak resident memory beside what its tensors need; the test models are
        // tiny, so the runtime every process holds dominates: within 2x of tensors + runtime.
        let last = try XCTUnwrap(timings.last)
        for role in ["actor", "reference", "reward", "critic", "buffer"] {
            let peak = try XCTUnwrap(last["memory_\(role)_peak_mb"] as? Double, role)
            let tensors = try XCTUnwrap(last["memory_\(role)_tensors_mb"] as? Double, role)
            XCTAssertGreaterThan(peak, 10, role)
            if role != "buffer" { XCTAssertGreaterThan(tensors, 0, role) }
            XCTAssertLessThan(peak, 2 * (tensors + 48), "\(role): peak \(peak) MiB, tensors \(tensors) MiB")
        }
        XCTAssertTrue(waits.allSatisfy { $0 >= 0 } && waits.dropFirst().contains { $0 > 0 }, "\(waits)")
        // And over tcp:// on loopback with the run's CURVE keys, from a port picked at random (CI
        // machines run other things).
        let tcp = try topology(dir, name: "tcp", transport: "tcp, base_port: \(StepThreeRuns.basePort()), keys: \(dir)/tcp-keys")
        try run(["keys", "--topology", tcp])
        try run(["launch", tcp])
        XCTAssertEqual(try bytes("\(dir)/tcp/final/model.safetensors"), try bytes("\(dir)/single/final/model.safetensors"))
        for c in ["checkpoint-2", "checkpoint-3"] {
            XCTAssertEqual(try bytes("\(dir)/multi/\(c)/critic/model.safetensors"), try bytes("\(dir)/single/\(c)/critic/model.safetensors"))
        }
        try checkReplay(multi: "\(dir)/multi", single: "\(dir)/single")
    }

    /// `rlhf replay` on the runs above: both logs hold the same bits; a rerun of iteration 3 from
    /// checkpoint-2 reproduces checkpoint-3's actor and critic; a rerun of iteration 1 from the
    /// starting models reproduces the recorded digests; ls, show, top and export answer.
    private func checkReplay(multi: String, single: String) throws {
        let diff = try run(["replay", "diff", multi, single])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), diff.stdout)
        let rerun = try run(["replay", "rerun", single, "--iteration", "3"])
        XCTAssertTrue(rerun.stdout.contains("started from \(single)/checkpoint-2") && rerun.stdout.contains("identical")
                      && rerun.stdout.contains("checkpoint-3/critic"), rerun.stdout)
        let first = try run(["replay", "rerun", multi, "--iteration", "1"])
        XCTAssertTrue(first.stdout.contains("starting models") && first.stdout.contains("identical"), first.stdout)
        let ls = try run(["replay", "ls", single])
        XCTAssertEqual(ls.stdout.split(separator: "\n").count, 5, "a header, 3 iterations and a total: \(ls.stdout)")
        let show = try run(["replay", "show", single, "--iteration", "2", "--sample", "1"])
        XCTAssertTrue(show.stdout.contains("advantage") && show.stdout.contains("prompt:   \" Human:"), show.stdout)
        let top = try run(["replay", "top", single, "--by", "kl", "-n", "2"])
        XCTAssertTrue(top.stdout.contains("highest kl:") && top.stdout.contains("lowest kl:"), top.stdout)
        let export = try run(["replay", "export", single, "--format", "jsonl"])
        XCTAssertEqual(export.stdout.split(separator: "\n").count, 3 * 4, "a line per sample")
        try CLIProcess.run(["replay", "show", single, "--iteration", "9"]).assertRefused("no record of iteration 9")

        // A rerun that cannot match says where: one bit flipped in checkpoint-3's actor weights
        // is found as the tensor and element that differ (exit status 1).
        let weights = "\(single)/checkpoint-3/actor/model.safetensors"
        var data = try bytes(weights)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        data[8 + headerLength + 2] ^= 0x01
        try data.write(to: URL(fileURLWithPath: weights))
        let differs = try CLIProcess.run(["replay", "rerun", single, "--iteration", "3"])
        XCTAssertEqual(differs.status, 1, differs.stderr)
        XCTAssertTrue(differs.stdout.contains("differs: actor: tensor ") && differs.stdout.contains("element 0"), differs.stdout)
    }

    /// A run that crashed after its checkpoint (later metrics written, no later checkpoint)
    /// resumes with `--resume` to the same bits as a run never stopped, and its metrics read as
    /// one run.
    func testResume_afterACrashPastTheCheckpoint_givesTheSameBits() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let straight = try topology(dir, name: "straight", transport: "inproc", iterations: 4, saveEvery: 2, tensorBoard: true)
        try run(["launch", straight])
        let events = try eventFiles("\(dir)/straight")
        XCTAssertEqual(events.count, 1, "run.report_to: [tensorboard] writes one event file")
        XCTAssertEqual(try tagCount("train/reward/score", in: events.first.map { "\(dir)/straight/runs/\($0)" } ?? ""), 4,
                       "one scalar per iteration")
        let crashed = try topology(dir, name: "crashed", transport: "inproc", iterations: 4, saveEvery: 2, tensorBoard: true)
        try FileManager.default.copyItem(atPath: "\(dir)/straight", toPath: "\(dir)/crashed")
        // What a kill during iteration 4 leaves: checkpoint-2, metrics of iterations 1-3, a torn save.
        for gone in ["checkpoint-4", "final"] { try FileManager.default.removeItem(atPath: "\(dir)/crashed/\(gone)") }
        let lines = try String(contentsOfFile: "\(dir)/crashed/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        try (lines.prefix(3).joined(separator: "\n") + "\n").write(toFile: "\(dir)/crashed/metrics.jsonl", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(dir)/crashed/.checkpoint-4.tmp-999/actor", withIntermediateDirectories: true)
        // ... and the experience log with iterations 3-4 recorded and a torn record after them.
        let segment = "\(dir)/crashed/experiences/segment-000001.rxl"
        let torn = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
        try torn.seekToEnd()
        try torn.write(contentsOf: Data("RXR1\u{10}\0\0\0partial".utf8))
        try torn.close()
        let r = try run(["launch", crashed, "--resume"])
        XCTAssertTrue(r.stderr.contains("resumed from"), r.stderr)
        XCTAssertTrue(r.stderr.contains("cut a torn record") && r.stderr.contains("dropped the records from iteration 3"), r.stderr)
        let diff = try run(["replay", "diff", "\(dir)/straight", "\(dir)/crashed"])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), "the resumed run's log is the straight run's: \(diff.stdout)")
        XCTAssertEqual(try bytes("\(dir)/crashed/final/model.safetensors"), try bytes("\(dir)/straight/final/model.safetensors"))
        XCTAssertEqual(try metrics("\(dir)/crashed"), try metrics("\(dir)/straight"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/crashed/.checkpoint-4.tmp-999"), "the torn save is removed")
        // The resumed run adds an event file with the iterations after the checkpoint only.
        let resumedEvents = try eventFiles("\(dir)/crashed").filter { !events.contains($0) }
        XCTAssertEqual(resumedEvents.count, 1)
        XCTAssertEqual(try tagCount("train/reward/score", in: "\(dir)/crashed/runs/\(resumedEvents.first ?? "")"), 2)
        // Without --resume, a directory with checkpoints is refused rather than overwritten.
        let again = try CLIProcess.run(["launch", crashed])
        again.assertRefused("--resume")
    }

    /// A trainer (the critic) killed in the middle of a run stops every process, as a role that
    /// holds state is not restarted: the launcher exits non-zero and names the role and its log.
    /// (A killed reference or reward is restarted: RestartTests.)
    func testKilledRole_stopsTheRunAndIsNamed() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try topology(dir, name: "killed", transport: "ipc", iterations: 100_000, saveEvery: 100_000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLIProcess.executable)
        p.arguments = ["launch", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let output = Locked(Data())
        let ended = Locked(false)  // the pipe's end: every process that held it has exited
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if d.isEmpty { ended.withLock { $0 = true } }
            output.withLock { $0.append(d) }
        }
        let deadline = Date().addingTimeInterval(120)
        while (try? String(contentsOfFile: "\(dir)/killed/metrics.jsonl", encoding: .utf8))?.isEmpty ?? true {
            guard Date() < deadline, p.isRunning else {
                p.terminate()
                return XCTFail("no iteration finished: \(output.withLock { String(decoding: $0, as: UTF8.self) })")
            }
            usleep(50_000)
        }
        let critic = serveProcesses(path).filter { pid in
            let cmd = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
            return cmd.contains("critic")
        }
        guard critic.count == 1 else {
            p.terminate()
            return XCTFail("expected one critic process, found \(critic.count)")
        }
        kill(critic[0], SIGKILL)
        p.waitUntilExit()
        try waitUntil("the end of the launcher's output") { ended.withLock { $0 } }
        out.fileHandleForReading.readabilityHandler = nil
        let text = output.withLock { String(decoding: $0, as: UTF8.self) }
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(text.contains("the critic role ended first"), text.suffix(3000).description)
        XCTAssertTrue(text.contains("logs/critic.log"), text.suffix(3000).description)
        XCTAssertFalse(text.contains("starting it again"), "a trainer is not restarted")
        XCTAssertTrue(serveProcesses(path).isEmpty, "every role process is stopped")
    }

    /// GRPO with the demo tasks' rule checker, PPO-ptx and the actor's EMA: no critic, scores of
    /// 0 or 1, a ptx loss, the averaged weights saved.
    func testGRPO_withRuleReward_runsWithoutACritic() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try topology(dir, name: "grpo", transport: "ipc", algorithm: "grpo", iterations: 2, reward: "{rule: demo-tasks}",
                                ptx: "\(Self.demo)/eval.jsonl", extra: ["samples_per_prompt: 4", "actor_ema: 0.5"],
                                promptTemplate: "Answer in one line. {prompt}")
        let r = try run(["launch", path])
        XCTAssertFalse(r.stdout.contains("prompt_template is not applied"), r.stdout)
        // data.prompt_template framed the user's message inside the chat template.
        let shown = try run(["replay", "show", "\(dir)/grpo", "--iteration", "1"])
        XCTAssertTrue(shown.stdout.contains("prompt:   \" Human: Answer in one line. "), shown.stdout)
        let actor = try bytes("\(dir)/grpo/final/model.safetensors"), average = try bytes("\(dir)/grpo/final/ema/model.safetensors")
        XCTAssertEqual(actor.count, average.count)
        XCTAssertNotEqual(actor, average, "the moving average of the weights is saved beside the actor")
        XCTAssertFalse(r.stderr.contains("critic "), "a GRPO run starts no critic")
        for m in try metrics("\(dir)/grpo") {
            let score = try XCTUnwrap(m["reward/score"])
            XCTAssertTrue(score >= 0 && score <= 1, "rule scores are 0 or 1, mean \(score)")
            XCTAssertNil(m["value_loss"])
            XCTAssertGreaterThan(try XCTUnwrap(m["ptx_loss"], "ptx data was given"), 0)
        }
    }

    /// A LoRA actor: only the adapters train and travel to the generator; what is saved is a PEFT
    /// adapter, the base is untouched, and one process and four give the same bits.
    func testLoRAActor_trainsAdaptersOnly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lora = "{r: 4, alpha: 8, dropout: 0.1, target_modules: [q_proj, v_proj]}"
        let multi = try topology(dir, name: "lora", transport: "ipc", algorithm: "grpo", iterations: 3,
                                 extra: ["samples_per_prompt: 2"], lora: lora)
        try run(["launch", multi])
        let single = try topology(dir, name: "lora1", transport: "ipc", algorithm: "grpo", iterations: 3,
                                  extra: ["samples_per_prompt: 2"], lora: lora)
        try run(["launch", single, "--single-process"])
        for file in ["adapter_config.json", "adapter_model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/lora/final/\(file)"), file)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/lora/final/model.safetensors"), "only the adapter is saved")
        XCTAssertEqual(try bytes("\(dir)/lora/final/adapter_model.safetensors"), try bytes("\(dir)/lora1/final/adapter_model.safetensors"))
        XCTAssertEqual(try metrics("\(dir)/lora"), try metrics("\(dir)/lora1"))
        // The adapters moved the policy: its log-probabilities left the reference's.
        let kl = try metrics("\(dir)/lora").last?["kl"] ?? 0
        XCTAssertNotEqual(kl, 0)
        // A rerun from checkpoint-2 reproduces the adapters of checkpoint-3, dropout's draws included.
        let rerun = try run(["replay", "rerun", "\(dir)/lora", "--iteration", "3"])
        XCTAssertTrue(rerun.stdout.contains("identical") && rerun.stdout.contains("checkpoint-2"), rerun.stdout)
    }

    /// A topology the build cannot run is refused before anything starts, naming file, line and key.
    func testBadTopology_isRefusedBeforeAnythingStarts() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = try topology(dir, name: "gpu", transport: "ipc")
        let text = try String(contentsOfFile: good, encoding: .utf8).replacingOccurrences(of: "actor: {threads: 1}", with: "actor: {threads: 1, device: cuda:0}")
        try text.write(toFile: good, atomically: true, encoding: .utf8)
        let r = try CLIProcess.run(["launch", good])
        r.assertRefused("gpu.yaml:", "cuda:0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/gpu/logs"), "nothing started")
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    var description: String
}

/// A value behind a lock, for the output collected from a pipe's handler.
final class Locked<T>: @unchecked Sendable {
    // @unchecked Sendable: every access goes through `lock`.
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func withLock<R>(_ body: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
