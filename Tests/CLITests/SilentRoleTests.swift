import Foundation
import TestSupport
import XCTest

/// A role process alive but silent (`kill -STOP`) is found by its launcher's pings within
/// `transport.silence_limit_seconds` and killed as if it had died: a stateless role is started
/// again and the run keeps its bits; a trainer's silence stops the run, named, with no process
/// of it left.
final class SilentRoleTests: XCTestCase {
    /// Short limits, so that each test takes seconds: two pings a second, 3 s of silence (the
    /// coordinator's limit is then 9 s).
    private let transport = "ipc, probe_interval_seconds: 0.5, silence_limit_seconds: 3"

    /// Iterations finished so far (lines of metrics.jsonl).
    private func iterations(_ run: String) -> Int {
        ((try? String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Whether the launcher has said that `role`'s process answers its pings (so is watched:
    /// before its first answer a process is loading, and its silence is not held against it).
    private func watched(_ role: String, in output: String) -> Bool {
        output.split(separator: "\n").contains { $0.hasPrefix(role + " ") && $0.contains(" | answers pings; watched from now on") }
    }

    /// Whether `pid` is still a live process of the run of `topology`.
    private func isAlive(_ pid: Int32, of topology: String) -> Bool { RunPaths.serveProcesses(topology).contains(pid) }

    /// Waits until the launcher watches `role`'s process and an iteration is done, then stops
    /// that process with SIGSTOP; returns its pid, or nil (the test failed) when the run is not
    /// going with one such process.
    private func stopWhenWatched(_ role: String, launch: BackgroundCLI, topology: String, run: String) throws -> Int32? {
        try waitUntil("the \(role) watched, and an iteration: \(launch.output.suffix(2000))") {
            (watched(role, in: launch.output) && iterations(run) >= 1) || !launch.process.isRunning
        }
        let pids = RunPaths.serveProcesses(topology, role: role)
        guard launch.process.isRunning, pids.count == 1 else {
            XCTFail("expected the run going with one \(role) process, got \(pids): \(launch.output.suffix(3000))")
            return nil
        }
        kill(pids[0], SIGSTOP)
        return pids[0]
    }

    /// Continues and kills `pid` if it is still a process of the run, so a failing test leaves
    /// no stopped process behind.
    private func release(_ pid: Int32?, of topology: String) {
        guard let pid, isAlive(pid, of: topology) else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
    }

    /// The reference stopped in the middle of a GRPO run is killed by the launcher after 3 s of
    /// silence and started again; the coordinator sends its request to the new process, and the
    /// run ends with the experience log and the final weights of a run never stopped.
    func testStoppedReference_isKilledAndRestarted_andTheBitsDoNotChange() throws {
        let dir = try StepThreeRuns.temporaryDirectory("silent-reference")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // About 0.3 s an iteration: the launcher hears from the reference well before the end.
        let reward = try StepThreeRuns.slowLengthReward(dir)
        let iterationCount = 12
        let straight = try StepThreeRuns.topology(dir, name: "straight", transport: transport, algorithm: "grpo",
                                                  iterations: iterationCount, saveEvery: 100, reward: reward)
        try StepThreeRuns.succeed(["launch", straight])
        let path = try StepThreeRuns.topology(dir, name: "stopped", transport: transport, algorithm: "grpo",
                                              iterations: iterationCount, saveEvery: 100, reward: reward)
        let launch = try BackgroundCLI(["launch", path], outputFile: "\(dir)/stopped.out")
        var stopped: Int32?
        defer { release(stopped, of: path) }
        stopped = try stopWhenWatched("reference", launch: launch, topology: path, run: "\(dir)/stopped")
        guard let reference = stopped else { return }
        let stoppedAt = ContinuousClock.now
        let doneWhenStopped = iterations("\(dir)/stopped")
        try waitUntil("the launcher kills the stopped reference: \(launch.output.suffix(2000))") { !isAlive(reference, of: path) }
        let found = ContinuousClock.now - stoppedAt
        XCTAssertEqual(launch.wait(seconds: 120), 0, launch.output.suffix(3000).description)
        let text = launch.output
        XCTAssertLessThan(doneWhenStopped, iterationCount, "stopped before the run's end")
        XCTAssertLessThan(found, .seconds(15), "3 s of silence, found after \(found)")
        XCTAssertTrue(text.contains("reference | answered no ping for ")
                      && text.contains(", over transport.silence_limit_seconds = 3 s: killing it (SIGKILL)"), text.suffix(3000).description)
        XCTAssertTrue(text.contains("reference | ended (answered no ping for ") && text.contains("starting it again (restart 1 of 3)"),
                      text.suffix(3000).description)
        let diff = try StepThreeRuns.succeed(["replay", "diff", "\(dir)/straight", "\(dir)/stopped"])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), diff.stdout)
        XCTAssertEqual(try StepThreeRuns.bytes("\(dir)/straight/final/model.safetensors"),
                       try StepThreeRuns.bytes("\(dir)/stopped/final/model.safetensors"))
        print("stopped after iteration \(doneWhenStopped), killed by the launcher after \(found)")
    }

    /// The critic (a trainer: not restarted) stopped mid-run: the launcher kills it after 3 s of
    /// silence and stops the run within seconds, naming the critic and the setting, exits
    /// non-zero, and leaves no process of the run.
    func testStoppedCritic_stopsTheRunWithinSeconds_namingIt_andLeavesNoProcess() throws {
        let dir = try StepThreeRuns.temporaryDirectory("silent-critic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try StepThreeRuns.topology(dir, name: "stopped", transport: transport, iterations: 100_000, saveEvery: 100_000)
        let launch = try BackgroundCLI(["launch", path], outputFile: "\(dir)/stopped.out")
        var stopped: Int32?
        defer { release(stopped, of: path) }
        stopped = try stopWhenWatched("critic", launch: launch, topology: path, run: "\(dir)/stopped")
        guard stopped != nil else { return }
        let stoppedAt = ContinuousClock.now
        let status = launch.wait(seconds: 60)
        let took = ContinuousClock.now - stoppedAt
        let text = launch.output
        XCTAssertNotEqual(status, 0, text.suffix(3000).description)
        XCTAssertLessThan(took, .seconds(20), "3 s of silence, then the stop; took \(took)")
        XCTAssertTrue(text.contains("the critic answered no ping for ")
                      && text.contains(", over transport.silence_limit_seconds = 3 s: killed; stopping the run; its log: "),
                      text.suffix(3000).description)
        XCTAssertTrue(text.contains("logs/critic.log"), text.suffix(3000).description)
        XCTAssertFalse(text.contains("starting it again"), "a trainer is not restarted")
        XCTAssertEqual(RunPaths.liveProcesses(mentioning: path), [], "every process of the run is gone")
        print("the run stopped \(took) after the critic was")
    }
}
