import Foundation
import XCTest

/// A stateless role killed with SIGKILL during a run is started again by the launcher, the
/// request it died with is sent again, and the run ends with the bits of a run never killed; a
/// trainer killed stops the run, and `--resume` ends with the bits of a run never stopped.
final class RestartTests: XCTestCase {
    private func iterationsDone(_ run: String) -> Int {
        ((try? String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Kills the one `serve` process of the run at `topology` whose command line holds `marker`.
    private func kill9(_ marker: String, of topology: String) {
        let pids = RunPaths.liveProcesses(mentioning: marker).filter { pid in
            let cmd = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
            return cmd.contains("serve") && cmd.contains(topology)
        }
        XCTAssertEqual(pids.count, 1, "one process for \(marker): \(pids)")
        for pid in pids { kill(pid, SIGKILL) }
    }

    private func assertSameBits(_ a: String, _ b: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let diff = try StepThreeRuns.succeed(["replay", "diff", a, b])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), "\(what): \(diff.stdout)", file: file, line: line)
        XCTAssertEqual(try StepThreeRuns.bytes("\(a)/final/model.safetensors"), try StepThreeRuns.bytes("\(b)/final/model.safetensors"),
                       what, file: file, line: line)
    }

    /// Kills a generator replica, the reference and a reward replica, one after another at
    /// moments chosen at random, during a GRPO run with two generator and two reward replicas,
    /// and compares with the same run unkilled (and placed otherwise: the actor generating, one
    /// reward process): the same experience log and final weights.
    func testKilledGeneratorReferenceAndReward_areRestarted_andTheBitsDoNotChange() throws {
        let dir = try StepThreeRuns.temporaryDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reward = try StepThreeRuns.slowLengthReward(dir)
        let iterations = 16
        let straight = try StepThreeRuns.topology(dir, name: "straight", algorithm: "grpo", iterations: iterations, saveEvery: 100,
                                                  reward: reward)
        try StepThreeRuns.succeed(["launch", straight])
        let path = try StepThreeRuns.topology(dir, name: "killed", algorithm: "grpo", iterations: iterations, saveEvery: 100,
                                              reward: reward, replicas: ["reward": 2, "generator": 2])
        let launch = try BackgroundCLI(["launch", path], outputFile: "\(dir)/killed.out")
        var killed: [(String, Int)] = []
        let kills = [("--role generator --replica 1", Int.random(in: 1...4)), ("--role reference", Int.random(in: 6...8)),
                     ("--role reward --replica 1", Int.random(in: 10...12))]
        for (marker, after) in kills {
            XCTAssertTrue(RunPaths.wait(seconds: 60) { iterationsDone("\(dir)/killed") >= after || !launch.process.isRunning }, "iteration \(after)")
            guard launch.process.isRunning else { break }
            kill9(marker, of: path)
            killed.append((marker, iterationsDone("\(dir)/killed")))
        }
        let status = launch.wait(seconds: 120)
        let text = launch.output
        XCTAssertEqual(status, 0, text.suffix(3000).description)
        XCTAssertEqual(killed.count, 3, "every kill happened during the run: \(killed)")
        XCTAssertTrue(text.contains("starting it again (restart 1 of 3)"), text.suffix(3000).description)
        try assertSameBits("\(dir)/straight", "\(dir)/killed", "killed at \(killed)")
    }

    /// PPO at staleness 2 with two generator replicas: the actor (a trainer) killed with
    /// SIGKILL after the checkpoint of iteration 3 stops the run naming it, with no process of
    /// the run left; `launch --resume` then ends with the experience log and final weights of
    /// the run never stopped.
    func testKilledTrainer_stopsTheRun_andResumeAtStalenessTwoGivesTheSameBits() throws {
        let dir = try StepThreeRuns.temporaryDirectory("restart-resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reward = try StepThreeRuns.slowLengthReward(dir)
        let extra = ["max_staleness: 2"]
        let straight = try StepThreeRuns.topology(dir, name: "straight", iterations: 9, saveEvery: 3, reward: reward, extra: extra,
                                                  replicas: ["generator": 2])
        try StepThreeRuns.succeed(["launch", straight])
        let path = try StepThreeRuns.topology(dir, name: "killed", iterations: 9, saveEvery: 3, reward: reward, extra: extra,
                                              replicas: ["generator": 2])
        let launch = try BackgroundCLI(["launch", path], outputFile: "\(dir)/killed.out")
        XCTAssertTrue(RunPaths.wait(seconds: 60) {
            FileManager.default.fileExists(atPath: "\(dir)/killed/checkpoint-3") || !launch.process.isRunning
        }, "checkpoint-3 written")
        XCTAssertTrue(launch.process.isRunning, "the run ended before the kill: \(launch.output.suffix(2000))")
        kill9("--role actor", of: path)
        let status = launch.wait(seconds: 30)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(launch.output.contains("the actor role ended first"), launch.output.suffix(2000).description)
        XCTAssertTrue(RunPaths.wait(seconds: 5) { RunPaths.liveProcesses(mentioning: path).isEmpty },
                      "processes of the run left: \(RunPaths.liveProcesses(mentioning: path))")
        XCTAssertLessThan(iterationsDone("\(dir)/killed"), 9, "killed before the end")
        try StepThreeRuns.succeed(["launch", path, "--resume"])
        try assertSameBits("\(dir)/straight", "\(dir)/killed", "resumed after the actor was killed")
    }
}
