import Foundation
import XCTest

/// An external reward program (`models.reward.program`) in whole runs: its answers are the
/// scores the experience log records and the advantages are computed from; a program that
/// times out, answers a bad line or dies stops the run naming it; a role that hangs longer
/// than `transport.request_timeout_seconds` stops the run naming the role and its endpoint.
final class RewardProgramRunTests: XCTestCase {
    /// `models.reward` for the program at `path`.
    private func program(_ path: String, timeout: Double) -> String {
        "{program: {command: [\(path)], timeout_seconds: \(timeout)}}"
    }

    /// GRPO on a program that scores each response by its length (in quarters, so every score is
    /// exact in Float) and logs each answer it gives: the log records exactly those scores, row
    /// by row, and every token of a sample carries (score - group mean) / (group std + 1e-4),
    /// with the unbiased std over its group of 4 (Docs/algorithms.md).
    func testProgramScores_areTheRecordedScores_andTheGRPOAdvantagesFollowFromThem() throws {
        let dir = try RunPaths.temporaryDirectory("program-scores")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scorer = "\(dir)/quarters.sh", answers = "\(dir)/answers.txt"
        try RunPaths.script(scorer, """
            #!/bin/sh
            while IFS= read -r line; do
              r=${line#*\\"response\\":\\"}
              n=${#r}
              s="$((n / 4)).$((n % 4 * 25))"
              echo "$s" >> \(answers)
              echo "{\\"score\\": $s}"
            done
            """)
        let t = RunPaths.Topology(algorithm: "grpo", iterations: 2, reward: program(scorer, timeout: 30),
                                  algorithmLines: ["samples_per_prompt: 4"])
        try RunPaths.succeed(["launch", try RunPaths.topology(dir, name: "scores", t)])
        let answered = try String(contentsOfFile: answers, encoding: .utf8).split(separator: "\n").map { Double(String($0))! }
        let samples = try RunPaths.exportedSamples("\(dir)/scores")
        XCTAssertEqual(samples.count, 2 * 4 * 4, "2 iterations of 4 prompts with 4 answers each")
        XCTAssertEqual(samples.map { $0["score"] as? Double }, answered.map { Optional($0) },
                       "the recorded scores are not the program's answers, in order")

        var nonZero = 0
        for group in stride(from: 0, to: samples.count, by: 4) {
            let members = Array(samples[group..<(group + 4)])
            XCTAssertEqual(Set(members.map { $0["iteration"] as? Int }).count, 1, "a group lies within one iteration")
            let scores = members.map { $0["score"] as? Double ?? .nan }
            let mean = scores.reduce(0, +) / 4
            let std = (scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
            for (member, score) in zip(members, scores) {
                let expected = (score - mean) / (std + 1e-4)
                let advantages = try XCTUnwrap(member["advantage"] as? [Double])
                XCTAssertFalse(advantages.isEmpty)
                for a in advantages {
                    XCTAssertEqual(a, expected, accuracy: 1e-5 * max(1, abs(expected)),
                                   "scores \(scores): sample \(member["sample"] ?? "?") of iteration \(member["iteration"] ?? "?")")
                }
                if abs(expected) > 0.1 { nonZero += 1 }
            }
        }
        XCTAssertGreaterThan(nonZero, 0, "every group scored alike: the advantages are all 0 and prove nothing")
        let metrics = try RunPaths.metrics("\(dir)/scores")
        for (k, line) in metrics.enumerated() {
            let mean = answered[(k * 16)..<((k + 1) * 16)].reduce(0, +) / 16
            XCTAssertEqual(try XCTUnwrap(line["reward/score"]), mean, accuracy: 1e-6, "iteration \(k + 1)")
        }
    }

    /// A program that times out, one that answers a line that is not `{"score": NUMBER}` and one
    /// that dies between batches each stop the run (five processes) with a non-zero status, the
    /// reward role named, the program's path, what it did, and the last line of its stderr; no
    /// program is left running.
    func testFailingProgram_stopsTheRun_namingTheRewardRoleTheProgramAndItsStderr() throws {
        let dir = try RunPaths.temporaryDirectory("program-failures")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [(name: String, script: String, says: String, stderr: String)] = [
            ("slow-judge", "echo 'slow-judge: waiting for the grading service' >&2\ncat > /dev/null\n",
             "answered 0 of 4 items within its timeout of 1.0 s", "waiting for the grading service"),
            ("prose-judge", "read -r line\necho 'prose-judge: the model answered in prose' >&2\necho 'I would give it a 7'\ncat > /dev/null\n",
             "answered \"I would give it a 7\" for item 0 of 4", "the model answered in prose"),
            ("dying-judge", """
                n=0
                while [ $n -lt 4 ] && IFS= read -r line; do echo '{"score": 0.5}'; n=$((n + 1)); done
                echo 'dying-judge: out of credits' >&2
                exit 3

                """, "exited with status 3", "out of credits"),
        ]
        for c in cases {
            let path = "\(dir)/\(c.name).sh"
            try RunPaths.script(path, "#!/bin/sh\n" + c.script)
            let t = RunPaths.Topology(iterations: 3, transport: "ipc", reward: program(path, timeout: 1))
            let r = try CLIProcess.run(["launch", try RunPaths.topology(dir, name: c.name, t)])
            let output = r.stdout + r.stderr
            XCTAssertEqual(r.reason, .exit, "\(c.name): \(output.suffix(2000))")
            XCTAssertEqual(r.status, 1, "\(c.name): \(output.suffix(2000))")
            for phrase in ["the buffer role ended first", "Error: reward refused score: reward program \(path) \(c.says)", c.stderr] {
                XCTAssertTrue(output.contains(phrase), "\(c.name) should say \"\(phrase)\": \(output.suffix(3000))")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/\(c.name)/final"), c.name)
            XCTAssertTrue(RunPaths.wait(seconds: 5) { RunPaths.liveProcesses(mentioning: path).isEmpty }, "\(c.name) is still running")
        }
    }

    /// A role that hangs (here the reward role, waiting on a program with a longer timeout of its
    /// own) stops the run after `transport.request_timeout_seconds`, naming the role, its
    /// endpoint and the setting, well before the 600 s default.
    func testHungRole_stopsTheRunAfterTheRequestTimeout_namingTheRoleAndItsEndpoint() throws {
        let dir = try RunPaths.temporaryDirectory("request-timeout")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/stuck.sh"
        try RunPaths.script(path, "#!/bin/sh\necho 'stuck: thinking' >&2\ncat > /dev/null\n")
        let t = RunPaths.Topology(iterations: 3, transport: "ipc, request_timeout_seconds: 1", reward: program(path, timeout: 3))
        let start = Date()
        let r = try CLIProcess.run(["launch", try RunPaths.topology(dir, name: "hung", t)])
        let output = r.stdout + r.stderr
        XCTAssertEqual(r.status, 1, output.suffix(2000).description)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "stopped by the request timeout, not the default")
        let said = "reward (ipc://\(dir)/hung/sockets/reward.sock) did not answer score within 1.0 seconds (transport.request_timeout_seconds)"
        XCTAssertTrue(output.contains("the buffer role ended first"), output.suffix(3000).description)
        XCTAssertTrue(output.contains(said), "should say \"\(said)\": \(output.suffix(3000))")
        XCTAssertTrue(try RunPaths.metrics("\(dir)/hung").isEmpty, "no iteration finished")
        XCTAssertTrue(RunPaths.wait(seconds: 5) { RunPaths.liveProcesses(mentioning: path).isEmpty }, "the program is still running")
    }

    /// In one process, a role whose thread is stuck in a request (a program that never answers,
    /// with its own timeout far away) does not keep the process alive after the run failed: the
    /// roles' stop is bounded, and the process exits.
    func testHungRole_inOneProcess_doesNotKeepTheProcessAlive() throws {
        let dir = try RunPaths.temporaryDirectory("hung-single")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/stuck.sh"
        try RunPaths.script(path, "#!/bin/sh\ncat > /dev/null\n")
        let t = RunPaths.Topology(iterations: 3, transport: "ipc, request_timeout_seconds: 1", reward: program(path, timeout: 600))
        let start = Date()
        let r = try CLIProcess.run(["launch", try RunPaths.topology(dir, name: "hung", t), "--single-process"])
        XCTAssertEqual(r.status, 1, (r.stdout + r.stderr).suffix(2000).description)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the process waited for its stuck role")
        XCTAssertTrue(r.stderr.contains("still busy"), r.stderr.suffix(2000).description)
    }
}
