import Foundation
import Tasks
import XCTest

/// The committed demo data (`data/demo/`, from `Scripts/make-demo-data`) agrees with the checker.
final class DemoDataTests: XCTestCase {
    private struct Pair: Decodable {
        var prompt: String
        var chosen: String
        var rejected: String
        var task: String
    }

    private struct HeldoutPrompt: Decodable {
        var prompt: String
        var task: String
        var answer: String
    }

    /// Reads `data/demo/NAME` from the repository this file is in.
    private func lines<T: Decodable>(_ name: String, as type: T.Type) throws -> [T] {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("data/demo/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(T.self, from: Data($0.utf8)) }
    }

    private func checkPairs(_ name: String, expectedCount: Int) throws {
        let checker = TaskChecker()
        let pairs = try lines(name, as: Pair.self)
        XCTAssertEqual(pairs.count, expectedCount)
        var failures = 0
        for (i, pair) in pairs.enumerated() {
            let chosen = checker.check(prompt: pair.prompt, response: pair.chosen)
            let rejected = checker.check(prompt: pair.prompt, response: pair.rejected)
            let kind = checker.kind(prompt: pair.prompt)
            if chosen != .correct || rejected != .wrong(expected: pair.chosen) || kind?.rawValue != pair.task {
                failures += 1
                if failures <= 5 {
                    XCTFail("\(name):\(i + 1) \(pair.prompt) | chosen \(pair.chosen): \(chosen) | "
                        + "rejected \(pair.rejected): \(rejected) | task \(pair.task) vs \(String(describing: kind))")
                }
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(pairs.count) pairs in \(name) misjudged")
    }

    func testEvalPairs_chosenIsCorrectAndRejectedIsWrong() throws {
        try checkPairs("eval.jsonl", expectedCount: 500)
    }

    func testTrainPairs_chosenIsCorrectAndRejectedIsWrong() throws {
        try checkPairs("train.jsonl", expectedCount: 5000)
    }

    func testHeldoutPrompts_expectedAnswerIsTheRecordedAnswer() throws {
        let checker = TaskChecker()
        let rows = try lines("heldout_prompts.jsonl", as: HeldoutPrompt.self)
        XCTAssertEqual(rows.count, 300)
        for row in rows {
            XCTAssertEqual(checker.expectedAnswer(prompt: row.prompt), row.answer, row.prompt)
            XCTAssertEqual(checker.kind(prompt: row.prompt)?.rawValue, row.task, row.prompt)
        }
        XCTAssertEqual(checker.accuracy(prompts: rows.map(\.prompt), responses: rows.map(\.answer)), 1)
    }

    func testHeldoutPrompts_appearInNeitherTrainNorEval() throws {
        let heldout = Set(try lines("heldout_prompts.jsonl", as: HeldoutPrompt.self).map(\.prompt))
        let eval = Set(try lines("eval.jsonl", as: Pair.self).map(\.prompt))
        let train = Set(try lines("train.jsonl", as: Pair.self).map(\.prompt))
        XCTAssertEqual(heldout.count, 300, "held-out prompts repeat")
        XCTAssertEqual(eval.count, 500, "eval prompts repeat")
        XCTAssertTrue(heldout.isDisjoint(with: train.union(eval)))
        XCTAssertTrue(eval.isDisjoint(with: train))
    }
}
