import Foundation
import XCTest

/// A stateless role killed with SIGKILL during a run is started again by the launcher, the
/// request it died with is sent again, and the run ends with the bits of a run never killed.
final class RestartTests: XCTestCase {
    /// Kills the reference and then a reward replica at moments chosen at random during a GRPO
    /// run (a reward program slow enough to leave time for it), and compares with the same run
    /// unkilled: the same experience log and final weights.
    func testKilledReferenceAndReward_areRestarted_andTheBitsDoNotChange() throws {
        let dir = try StepThreeRuns.temporaryDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reward = try StepThreeRuns.slowLengthReward(dir)
        let iterations = 14
        let straight = try StepThreeRuns.topology(dir, name: "straight", algorithm: "grpo", iterations: iterations, saveEvery: 100,
                                                  reward: reward, replicas: ["reward": 2])
        try StepThreeRuns.succeed(["launch", straight])
        let path = try StepThreeRuns.topology(dir, name: "killed", algorithm: "grpo", iterations: iterations, saveEvery: 100,
                                              reward: reward, replicas: ["reward": 2])
        let launch = Process()
        launch.executableURL = URL(fileURLWithPath: CLIProcess.executable)
        launch.arguments = ["launch", path]
        let output = Pipe()
        launch.standardOutput = output
        launch.standardError = output
        try launch.run()
        let collected = OutputCollector(output.fileHandleForReading)
        defer { if launch.isRunning { launch.terminate() } }

        func iterationsDone() -> Int {
            ((try? String(contentsOfFile: "\(dir)/killed/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        func kill9(_ marker: String) throws {
            let pids = RunPaths.liveProcesses(mentioning: marker).filter { pid in
                let cmd = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
                return cmd.contains("serve") && cmd.contains(path)
            }
            XCTAssertEqual(pids.count, 1, "one process for \(marker): \(pids)")
            for pid in pids { kill(pid, SIGKILL) }
        }
        var killed: [(String, Int)] = []
        for (marker, after) in [("--role reference", Int.random(in: 1...4)), ("--replica 1", Int.random(in: 6...9))] {
            XCTAssertTrue(RunPaths.wait(seconds: 60) { iterationsDone() >= after || !launch.isRunning }, "iteration \(after)")
            guard launch.isRunning else { break }
            try kill9(marker)
            killed.append((marker, iterationsDone()))
        }
        launch.waitUntilExit()
        let text = collected.text
        XCTAssertEqual(launch.terminationStatus, 0, text.suffix(3000).description)
        XCTAssertEqual(killed.count, 2, "both kills happened during the run: \(killed)")
        XCTAssertTrue(text.contains("starting it again (restart 1 of 3)"), text.suffix(3000).description)
        let diff = try StepThreeRuns.succeed(["replay", "diff", "\(dir)/straight", "\(dir)/killed"])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), "killed at \(killed): \(diff.stdout)")
        XCTAssertEqual(try StepThreeRuns.bytes("\(dir)/straight/final/model.safetensors"),
                       try StepThreeRuns.bytes("\(dir)/killed/final/model.safetensors"), "killed at \(killed)")
    }
}

/// Everything a pipe carries, read as it comes (so the writer never blocks on a full pipe).
final class OutputCollector: @unchecked Sendable {
    // @unchecked Sendable: `data` is only touched under `lock`.
    private var data = Data()
    private let lock = NSLock()

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] h in
            let chunk = h.availableData
            guard let self else { return }
            self.lock.lock()
            self.data.append(chunk)
            self.lock.unlock()
        }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
