import Datasets
import Tokenization
import XCTest

/// `rlhf data inspect`: format, counts, length statistics and rendered records.
final class InspectorTests: XCTestCase {
    var dir: ScratchDirectory!
    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir.remove() }

    func testReport_shareGPTWithBadRecordsInCharacters() throws {
        let path = try dir.writeLines("chat.jsonl", [
            #"{"conversations": [{"from": "human", "value": "hello"}, {"from": "gpt", "value": "hi"}]}"#,
            #"{"conversations": [{"from": "human", "value": "x"}, {"from": "bot2", "value": "y"}]}"#,
            #"{"conversations": [{"from": "human", "value": "what is it"}, {"from": "gpt", "value": "a cat"}]}"#,
        ])
        let inspection = try DatasetInspector(template: .builtIn(.chatml), exampleCount: 1).inspect(path, skipBadRecords: true)
        XCTAssertEqual(inspection.recordCount, 2)
        XCTAssertEqual(inspection.skipped.map(\.line), [2])
        XCTAssertEqual(inspection.unit, "characters")
        let response = try XCTUnwrap(inspection.lengths.first { $0.part == "response" }?.statistics)
        // "hi<|im_end|>" and "a cat<|im_end|>": the answer and its end marker.
        XCTAssertEqual(response.min, 12)
        XCTAssertEqual(response.max, 15)
        let report = inspection.report
        XCTAssertTrue(report.contains("format:   sharegpt (detected"), report)
        XCTAssertTrue(report.contains("records:  2 (1 bad records skipped)"), report)
        XCTAssertTrue(report.contains("chat.jsonl:2: unknown role"), report)
        XCTAssertTrue(report.contains("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\nhi<|im_end|>"), report)
        XCTAssertFalse(report.contains("what is it"), "only the first record is rendered")
    }

    func testReport_preferenceInTokensWithTruncationCounts() throws {
        let path = try dir.writeLines("pairs.jsonl", [
            #"{"prompt": "what is the cat", "chosen": "the cat sat on the mat", "rejected": "far away"}"#,
            #"{"prompt": "tell me a joke", "chosen": "the dog ran", "rejected": "the cat ran far away on the mat the dog"}"#,
        ])
        let inspector = DatasetInspector(template: .builtIn(.deepspeedChat), tokenizer: TinyTokenizer.shared, exampleCount: 2,
                                         truncation: try TruncationRule(maxLength: 12, maxPromptLength: 6))
        let inspection = try inspector.inspect(path)
        XCTAssertEqual(inspection.unit, "tokens")
        XCTAssertEqual(inspection.lengths.map(\.part), ["prompt", "chosen", "rejected", "total"])
        let truncation = try XCTUnwrap(inspection.truncation)
        XCTAssertEqual(truncation.examples, 2)
        XCTAssertGreaterThan(truncation.responsesTruncated, 0)
        let prompt = try TinyTokenizer.shared.encode(ChatTemplate.deepspeedChat.promptSegments(Conversation(user: "what is the cat")))
        XCTAssertTrue(inspection.lengths[0].statistics.min <= prompt.ids.count)
        XCTAssertTrue(inspection.report.contains("[chosen]\n<s> Human: what is the cat Assistant: the cat sat on the mat<|endoftext|>"),
                      inspection.report)
    }

    func testStatistics_nearestRankPercentiles() throws {
        let s = try XCTUnwrap(LengthStatistics(Array(1...100)))
        XCTAssertEqual(s.min, 1)
        XCTAssertEqual(s.p50, 50)
        XCTAssertEqual(s.p95, 95)
        XCTAssertEqual(s.max, 100)
        XCTAssertEqual(s.mean, 50.5)
        XCTAssertNil(LengthStatistics([]))
    }
}
