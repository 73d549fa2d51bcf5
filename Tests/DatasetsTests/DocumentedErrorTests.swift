import Datasets
import Foundation
import XCTest

/// Docs/data-formats.md held to the code: the example errors of "Bad records" are exactly what
/// the reader says for such records, and the role names its table lists are the ones accepted.
final class DocumentedErrorTests: XCTestCase {
    var dir: ScratchDirectory!
    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir.remove() }

    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Docs/data-formats.md").path

    /// The lines of the first code block after "## Bad records".
    func documentedErrors() throws -> [String] {
        let text = try String(contentsOfFile: Self.document, encoding: .utf8)
        let section = try XCTUnwrap(text.range(of: "## Bad records"), "no Bad records section")
        let lines = text[section.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let open = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("```") })
        let close = try XCTUnwrap(lines[(open + 1)...].firstIndex { $0.hasPrefix("```") })
        return Array(lines[(open + 1)..<close])
    }

    /// The message for `bad` written as line `line` of `name` (good records before it), without the directory.
    func message(_ name: String, line: Int, good: String, bad: String, format: DatasetFormat? = nil) throws -> String {
        let path = try dir.writeLines(name, Array(repeating: good, count: line - 1) + [bad])
        let error = try XCTUnwrap(readError(path, format: format))
        return error.description.replacingOccurrences(of: dir.path + "/", with: "")
    }

    func testBadRecordExamples_areWhatTheReaderSays() throws {
        let conversation = #"{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}"#
        let produced = [
            try message("chat.jsonl", line: 17, good: conversation,
                        bad: #"{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}, {"from": "tool", "value": "r"}]}"#),
            try message("data.jsonl", line: 3, good: #"{"text": "t"}"#, bad: #"{"conversations": []}"#, format: .text),
            try message("data.jsonl", line: 9, good: conversation, bad: #"{"tags": ["ab", "c"}"#),
        ]
        XCTAssertEqual(try documentedErrors(), produced)
    }

    /// Every role name the table lists for `messages` and `sharegpt` is accepted, in both formats.
    func testDocumentedRoleNames_areAccepted() throws {
        for (user, assistant) in [("user", "assistant"), ("human", "gpt"), ("user", "bot"), ("human", "model"),
                                  ("user", "chatgpt"), ("human", "bard"), ("user", "bing")] {
            for (key, content) in [("role", "content"), ("from", "value")] {
                let list = #"[{"\#(key)": "\#(user)", "\#(content)": "q"}, {"\#(key)": "\#(assistant)", "\#(content)": "a"}]"#
                let field = key == "role" ? "messages" : "conversations"
                let path = try dir.writeLines("\(field)-\(assistant).jsonl", [#"{"\#(field)": \#(list)}"#])
                let records = try readRecords(path)
                XCTAssertEqual(records.first?.conversation?.turns.map(\.role), [.user, .assistant], "\(field): \(user), \(assistant)")
            }
        }
    }
}
