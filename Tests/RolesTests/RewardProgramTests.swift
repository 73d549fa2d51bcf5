import Foundation
import Roles
import XCTest

/// `RewardProgram` against real `/bin/sh` programs: the answers in order, and each way a program
/// can fail named with its command, what it did and its stderr's last lines, within the timeout
/// (RunPathTests runs the same failures through whole runs).
final class RewardProgramTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("reward-program-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A program from shell text, started with `timeout` seconds per batch.
    private func program(_ name: String, _ body: String, timeout: Double = 2) throws -> RewardProgram {
        let path = "\(directory)/\(name)"
        try ("#!/bin/sh\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return try RewardProgram(command: [path], timeoutSeconds: timeout)
    }

    private func items(_ count: Int, response: String = "7") -> [RewardProgram.Item] {
        (0..<count).map { RewardProgram.Item(prompt: "What is 3 plus \($0)?", response: response, ended: true) }
    }

    /// The failure of `body`, which must throw a reward-program error within `seconds`.
    private func failure(_ seconds: Double, _ body: () throws -> [Float], file: StaticString = #filePath,
                         line: UInt = #line) -> String {
        let start = Date()
        do {
            let scores = try body()
            XCTFail("scored \(scores) instead of failing", file: file, line: line)
            return ""
        } catch let error as RoleError {
            XCTAssertEqual(error.code, .rewardProgram, file: file, line: line)
            XCTAssertLessThan(Date().timeIntervalSince(start), seconds, "took too long: \(error)", file: file, line: line)
            return error.message
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return ""
        }
    }

    private func assertSays(_ message: String, _ phrases: String..., file: StaticString = #filePath, line: UInt = #line) {
        for p in phrases { XCTAssertTrue(message.contains(p), "should say \"\(p)\": \(message)", file: file, line: line) }
    }

    // MARK: - Tests

    func testAnswers_comeBackInOrder_withTheRequestAsOneJSONLinePerItem() throws {
        // Echoes the length of each request line back as its score, and keeps the lines.
        let p = try program("echo.sh", """
            while IFS= read -r line; do printf '%s\\n' "$line" >> \(directory)/seen.jsonl; echo "{\\"score\\": ${#line}.5}"; done
            """)
        let asked = items(3, response: "a/b \"c\"") + [RewardProgram.Item(prompt: "p", response: "", ended: false)]
        let scores = try p.score(asked)
        let seen = try String(contentsOfFile: "\(directory)/seen.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(seen.first, #"{"ended":true,"prompt":"What is 3 plus 0?","response":"a/b \"c\""}"#)
        XCTAssertEqual(scores, seen.map { Float($0.utf8.count) + 0.5 })
        XCTAssertEqual(try p.score(items(2)).count, 2, "the program keeps answering batch after batch")
    }

    func testTimeout_namesTheProgramAndItsStderr_andStopsIt() throws {
        let p = try program("slow.sh", "echo 'judge: connecting to the grader' >&2\nread -r line\necho '{\"score\": 1}'\ncat > /dev/null\n",
                            timeout: 0.5)
        let message = failure(3) { try p.score(items(3)) }
        assertSays(message, "slow.sh answered 1 of 3 items within its timeout of 0.5 s", "judge: connecting to the grader")
        // Its answers would no longer line up with the batches: it is stopped, and later calls refused.
        assertSays(failure(1) { try p.score(items(1)) }, "was stopped after an earlier failure", "timeout of 0.5 s")
    }

    func testBadLine_isQuotedWithItsItem() throws {
        let p = try program("prose.sh", """
            read -r line; echo '{"score": 0.5}'
            read -r line; echo 'warning: judge returned prose' >&2; echo 'I would give it a 7'
            cat > /dev/null
            """)
        let message = failure(3) { try p.score(items(2)) }
        assertSays(message, "prose.sh answered \"I would give it a 7\" for item 1 of 2; expected {\"score\": NUMBER}",
                   "warning: judge returned prose")
        for bad in ["{\"score\": \"high\"}", "{\"value\": 1}", "{\"score\": 1e999}", ""] {
            let q = try program("bad.sh", "read -r line; echo '\(bad)'; cat > /dev/null\n")
            assertSays(failure(3) { try q.score(items(1)) }, "answered", "expected {\"score\": NUMBER}")
        }
    }

    func testDeath_betweenBatches_isNamedWithItsStatusOrSignal() throws {
        let exits = try program("exits.sh", "read -r line; echo '{\"score\": 1}'\necho 'judge: out of credits' >&2\nexit 3\n")
        XCTAssertEqual(try exits.score(items(1)), [1])
        usleep(200_000)
        assertSays(failure(3) { try exits.score(items(1)) }, "exits.sh exited with status 3", "judge: out of credits")

        let killed = try program("killed.sh", "read -r line; echo '{\"score\": 1}'\necho 'judge: out of memory' >&2\nkill -9 $$\n")
        XCTAssertEqual(try killed.score(items(1)), [1])
        usleep(200_000)
        assertSays(failure(3) { try killed.score(items(1)) }, "killed.sh was killed by signal 9", "judge: out of memory")
    }

    /// A program that closes its stdin: the next write fails with EPIPE, named, where SIGPIPE's
    /// default action used to kill the whole role process without a word.
    func testProgramThatStopsReading_isNamed_notASilentSIGPIPE() throws {
        let p = try program("closer.sh", """
            read -r line; echo '{"score": 1}'
            exec 0<&-
            echo 'closer: no more input taken' >&2
            sleep 5
            """)
        XCTAssertEqual(try p.score(items(1)), [1])
        usleep(200_000)
        assertSays(failure(3) { try p.score(items(1)) }, "closer.sh stopped reading its input (Broken pipe)", "no more input taken")
    }

    /// A program that closes its stdout and lingers is reported at the timeout, not waited for.
    func testProgramThatClosesItsOutputAndLingers_failsWithinTheTimeout() throws {
        let p = try program("mute.sh", "read -r line\nexec 1>&-\necho 'mute: stdout closed' >&2\nsleep 30\n", timeout: 1)
        assertSays(failure(3) { try p.score(items(2)) }, "mute.sh closed its output after 0 of 2 items (still running)", "stdout closed")
    }

    /// A batch larger than a pipe holds, to a program that never reads: the write itself keeps
    /// to the timeout (it used to block for good, holding the role's thread).
    func testBatchLargerThanThePipe_toAProgramThatNeverReads_failsWithinTheTimeout() throws {
        let p = try program("deaf.sh", "echo 'deaf: busy elsewhere' >&2\nsleep 30\n", timeout: 1)
        let long = String(repeating: "word ", count: 2000)
        let message = failure(3) { try p.score(items(40, response: long)) }
        assertSays(message, "deaf.sh took ", "bytes (40 items) within its timeout of 1.0 s", "deaf: busy elsewhere")
    }

    /// A program that answers each line as it reads it, given a batch larger than both pipes:
    /// its answers are read while the batch is written, so neither side waits on the other.
    func testLargeBatch_toAProgramThatAnswersAsItReads_isScored() throws {
        let p = try program("steady.sh", "while IFS= read -r line; do echo '{\"score\": 0.25}'; done\n", timeout: 20)
        let long = String(repeating: "x", count: 200)
        let scores = try p.score(items(6000, response: long))
        XCTAssertEqual(scores.count, 6000)
        XCTAssertTrue(scores.allSatisfy { $0 == 0.25 })
    }
}
