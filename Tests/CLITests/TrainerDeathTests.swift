import Foundation
import TestSupport
import XCTest

/// A trainer that dies (`kill -9` of the actor's process under `rlhf launch`) stops the run at
/// once, named, with no process of it left, and `rlhf launch --resume` continues from the last
/// checkpoint to the bits of a run never killed. (LaunchTests and PipeliningTests resume from
/// a crash made by hand, in one process; this is the real kill of a trainer's process.)
final class TrainerDeathTests: XCTestCase {
    func testKilledActor_stopsTheRunNamingIt_andResumeGivesTheSameBits() throws {
        let dir = try StepThreeRuns.temporaryDirectory("trainer-death")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Many short iterations (tens of milliseconds each): the kill lands well before the end
        // even when this test is slow to see the first checkpoint.
        let straight = try StepThreeRuns.topology(dir, name: "straight", iterations: 40, saveEvery: 2)
        try StepThreeRuns.succeed(["launch", straight])
        let path = try StepThreeRuns.topology(dir, name: "killed", iterations: 40, saveEvery: 2)
        let launch = try BackgroundCLI(["launch", path], outputFile: "\(dir)/killed.out")
        let run = "\(dir)/killed"

        // A checkpoint is renamed into place whole: once there, it is complete.
        try waitUntil("the first checkpoint: \(launch.output.suffix(2000))") {
            FileManager.default.fileExists(atPath: "\(run)/checkpoint-2") || !launch.process.isRunning
        }
        let actor = RunPaths.serveProcesses(path, role: "actor")
        guard launch.process.isRunning, actor.count == 1 else {
            return XCTFail("expected the run going with one actor process, got \(actor): \(launch.output.suffix(3000))")
        }
        kill(actor[0], SIGKILL)
        let killedAt = ContinuousClock.now
        let status = launch.wait(seconds: 60)
        let took = ContinuousClock.now - killedAt
        let text = launch.output
        XCTAssertNotEqual(status, 0, text.suffix(3000).description)
        XCTAssertLessThan(took, .seconds(15), "the others stopped within their grace period; took \(took)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/final"), "killed before the end")
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.hasPrefix("checkpoint-") }
        XCTAssertTrue(text.contains("the actor role ended first (was killed by SIGKILL); its log: ") && text.contains("logs/actor.log"),
                      text.suffix(3000).description)
        XCTAssertFalse(text.contains("starting it again"), "a trainer is not restarted")
        XCTAssertEqual(RunPaths.liveProcesses(mentioning: path), [], "every process of the run is gone")

        let resumed = try StepThreeRuns.succeed(["launch", path, "--resume"])
        XCTAssertTrue(resumed.stderr.contains("resumed from"), resumed.stderr.suffix(3000).description)
        let diff = try StepThreeRuns.succeed(["replay", "diff", "\(dir)/straight", run])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), diff.stdout)
        XCTAssertEqual(try StepThreeRuns.bytes("\(dir)/straight/final/model.safetensors"), try StepThreeRuns.bytes("\(run)/final/model.safetensors"))
        XCTAssertEqual(try RunPaths.metricsWithoutTimings(run), try RunPaths.metricsWithoutTimings("\(dir)/straight"))
        print("the run stopped \(took) after the actor was killed; resumed from the last of \(checkpoints.sorted())")
    }
}
