import Foundation
import XCTest

/// What the run-path tests share, beside `StepThreeRuns` (whose tiny models they use): topology
/// files with any section changed, shell-script reward programs, metrics, the experience log's
/// export, processes found by command line, and runs started in the background.
enum RunPaths {
    static let demo = StepThreeRuns.demo

    static func modelsDirectory() throws -> String { try StepThreeRuns.modelsDirectory() }

    static func temporaryDirectory(_ prefix: String) throws -> String { try StepThreeRuns.temporaryDirectory(prefix) }

    @discardableResult
    static func succeed(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIProcess.Result {
        try StepThreeRuns.succeed(args, file: file, line: line)
    }

    /// What a test topology may change; everything else is the tiny run of LaunchTests
    /// (4 prompts an iteration, answers of up to 8 tokens, learning rates of 1e-3).
    struct Topology {
        var algorithm = "ppo"
        var iterations = 3
        var saveEvery = 2
        /// The inside of `transport: {kind: ...}`: `ipc`, or `ipc, request_timeout_seconds: 1`.
        var transport = "inproc"
        /// The reward section's value; nil: the reward model.
        var reward: String?
        /// The value of `models.actor.lora` (`{r: 4, alpha: 8}`); nil: no LoRA.
        var lora: String?
        /// More `algorithm:` keys, one per line (`samples_per_prompt: 4`).
        var algorithmLines: [String] = []
        /// More `data:` and `schedule:` keys, as `key: value`.
        var data: [String] = []
        var schedule: [String] = []
        /// Leaves `roles:` and `transport:` out (what `rlhf train ppo --config` allows).
        var placement = true
    }

    /// Writes topology `t` as `DIR/NAME.yaml`, its run directory `DIR/NAME`; returns the file's path.
    static func topology(_ dir: String, name: String, _ t: Topology) throws -> String {
        let m = try modelsDirectory()
        var roles = ["actor", "reference", "reward", "buffer"]
        if t.algorithm == "ppo" { roles.insert("critic", at: 3) }
        var lines = [
            "run: {name: \(name), directory: \(dir)/\(name), seed: 7}",
            "models:",
            "  actor: {path: \(m)/base\(t.lora.map { ", lora: \($0)" } ?? "")}",
            "  reward: \(t.reward ?? "{path: \(m)/rm}")",
            "  critic: {path: \(m)/rm}",
        ]
        if t.placement {
            lines += ["roles:"] + roles.map { "  \($0): {threads: 1}" } + ["transport: {kind: \(t.transport)}"]
        }
        // The tiny run's settings, each replaced by a line of `algorithmLines` with its key.
        let given = Set(t.algorithmLines.map { $0.split(separator: ":").first.map(String.init) ?? $0 })
        let defaults = ["max_new_tokens: 8", "max_prompt_length: 48", "prompts_per_iteration: 4", "mini_batch_size: 4",
                        "actor_learning_rate: 1.0e-3", "critic_learning_rate: 1.0e-3", "warmup_steps: 1"]
        lines += ["algorithm:", "  name: \(t.algorithm)"]
            + (defaults.filter { !given.contains(String($0.split(separator: ":")[0])) } + t.algorithmLines).map { "  " + $0 }
        lines += ["data: {\((["prompts: \(demo)/heldout_prompts.jsonl"] + t.data).joined(separator: ", "))}"]
        lines += ["schedule: {\((["iterations: \(t.iterations)", "save_every: \(t.saveEvery)"] + t.schedule).joined(separator: ", "))}"]
        let path = "\(dir)/\(name).yaml"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Writes an executable shell script.
    static func script(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// metrics.jsonl as numbers, one dictionary per line (timings included); none when the
    /// file is not there.
    static func metrics(_ run: String) throws -> [[String: Double]] {
        guard FileManager.default.fileExists(atPath: "\(run)/metrics.jsonl") else { return [] }
        return try StepThreeRuns.metrics(run)
    }

    /// metrics.jsonl without the wall-clock (`*_s`) and memory (`memory_*`) figures, which differ between any two runs.
    static func metricsWithoutTimings(_ run: String) throws -> [[String: Double]] {
        try metrics(run).map { $0.filter { !$0.key.hasSuffix("_s") && !$0.key.hasPrefix("memory_") } }
    }

    /// `rlhf replay export RUN --format jsonl`: one dictionary per sample, in log order.
    static func exportedSamples(_ run: String) throws -> [[String: Any]] {
        let r = try succeed(["replay", "export", run, "--format", "jsonl"])
        return try r.stdout.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line.prefix(200)))
        }
    }

    static func bytes(_ path: String) throws -> Data { try StepThreeRuns.bytes(path) }

    /// Running processes (zombies aside: a reaped-late child is no longer running) whose
    /// command line contains `marker`, other than this test process.
    static func liveProcesses(mentioning marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let me = getpid()
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != me, let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let state = stat.split(separator: ")").last?.split(separator: " ").first, state != "Z" else { return false }
            return String(decoding: raw, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").contains(marker)
        }
    }

    /// The live `rlhf serve` processes started for `topology` (its path is on their command
    /// line), only those of `role` when given.
    static func serveProcesses(_ topology: String, role: String? = nil) -> [Int32] {
        liveProcesses(mentioning: topology).filter { pid in
            let cmd = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
                .replacingOccurrences(of: "\0", with: " ")
            return cmd.contains(" serve ") && (role.map { cmd.contains("--role \($0)") } ?? true)
        }
    }

    /// Waits up to `seconds` for `condition`, polling; false when it never held.
    static func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

/// `rlhf ARGS` started in the background, its stdout and stderr together in a file (so a test
/// can signal it mid-run and still read everything it said).
final class BackgroundCLI {
    let process = Process()
    let outputFile: String
    private let handle: FileHandle

    convenience init(_ args: [String], outputFile: String) throws {
        try self.init(program: CLIProcess.executable, args, outputFile: outputFile)
    }

    /// Any program (`ip netns exec ...` running the tool in a test host).
    init(program: String, _ args: [String], outputFile: String) throws {
        self.outputFile = outputFile
        FileManager.default.createFile(atPath: outputFile, contents: nil)
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = args
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Everything written so far.
    var output: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }

    /// Waits for the end (killing the process after `seconds`); returns its exit status.
    @discardableResult
    func wait(seconds: Double = 120) -> Int32 {
        if !RunPaths.wait(seconds: seconds, until: { !process.isRunning }) {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        try? handle.close()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
