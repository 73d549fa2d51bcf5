import Datasets
import XCTest

/// Every kind of bad record names its file, line and field; skipping reports count and places.
final class BadRecordTests: XCTestCase {
    var dir: ScratchDirectory!
    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir.remove() }

    private let good = #"{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}"#

    /// Writes `bad` as line 3 of a ShareGPT file and returns the error reading it.
    private func errorForThirdLine(_ bad: String) throws -> DatasetError? {
        let path = try dir.writeLines("data.jsonl", [good, good, bad])
        return readError(path)
    }

    private func assertPlace(_ error: DatasetError?, kind: DatasetError.Kind, line: Int, field: String?,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        guard let error else { return XCTFail("no error", file: file, line: testLine) }
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: testLine)
        XCTAssertEqual(error.file.map { ($0 as NSString).lastPathComponent }, "data.jsonl", file: file, line: testLine)
        XCTAssertEqual(error.line, line, "\(error)", file: file, line: testLine)
        XCTAssertEqual(error.field, field, "\(error)", file: file, line: testLine)
        XCTAssertTrue(error.description.contains("data.jsonl:\(line): "), error.description, file: file, line: testLine)
    }

    func testInvalidJSON_namesLineAndColumn() throws {
        let error = try errorForThirdLine(#"{"conversations": [}"#)
        assertPlace(error, kind: .invalidJSON, line: 3, field: nil)
        XCTAssertEqual(error?.column, 20)
    }

    func testMissingField_namesTheFieldAndWhatTheRecordHas() throws {
        let error = try errorForThirdLine(#"{"conversations": [{"from": "human", "text": "q"}]}"#)
        assertPlace(error, kind: .missingField, line: 3, field: "conversations[0].value' (or 'content")
        XCTAssertTrue(error!.description.contains("only the fields from, text"), error!.description)
    }

    func testWrongType_namesExpectedAndGot() throws {
        let error = try errorForThirdLine(#"{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": 42}]}"#)
        assertPlace(error, kind: .wrongType, line: 3, field: "conversations[1].value")
        XCTAssertEqual(error?.got, "number 42")
    }

    func testWrongType_recordThatIsNotAnObject() throws {
        assertPlace(try errorForThirdLine(#"["q", "a"]"#), kind: .wrongType, line: 3, field: nil)
    }

    func testEmptyResponse_isRefused() throws {
        let error = try errorForThirdLine(#"{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "  "}]}"#)
        assertPlace(error, kind: .emptyContent, line: 3, field: "conversations[1].value")
    }

    func testUnknownRole_listsTheKnownOnes() throws {
        let error = try errorForThirdLine(#"{"conversations": [{"from": "human", "value": "q"}, {"from": "bot2", "value": "a"}]}"#)
        assertPlace(error, kind: .unknownRole, line: 3, field: "conversations[1].from")
        XCTAssertTrue(error!.expected!.contains("human, gpt, system"), error!.description)
    }

    func testTurnsThatDoNotAlternate() throws {
        let error = try errorForThirdLine(#"{"conversations": [{"from": "human", "value": "q"}, {"from": "human", "value": "q again"}]}"#)
        assertPlace(error, kind: .turnsDoNotAlternate, line: 3, field: "conversations[1].from")
        let first = try errorForThirdLine(#"{"conversations": [{"from": "gpt", "value": "a"}]}"#)
        assertPlace(first, kind: .turnsDoNotAlternate, line: 3, field: "conversations[0].from")
    }

    func testPreference_missingRejectedAndEmptyChosen() throws {
        let path = try dir.writeLines("data.jsonl", [
            #"{"prompt": "p", "chosen": "c", "rejected": "r"}"#,
            #"{"prompt": "p", "chosen": "", "rejected": "r"}"#,
        ])
        assertPlace(readError(path), kind: .emptyContent, line: 2, field: "chosen")
        let missing = try dir.writeLines("data.jsonl", [#"{"prompt": "p", "chosen": "c", "rejected": "r"}"#, #"{"prompt": "p", "chosen": "c"}"#])
        assertPlace(readError(missing), kind: .missingField, line: 2, field: "rejected' (or 'response_rejected")
    }

    func testJSONArray_errorNamesTheLineTheElementStartsOn() throws {
        let path = try dir.write("alpaca.json", """
        [
          {"instruction": "a", "output": "b"},
          {"instruction": "c",
           "output": null}
        ]
        """)
        let error = readError(path)
        XCTAssertEqual(error?.kind, .wrongType)
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.field, "output")
        XCTAssertEqual(error?.got, "null")
    }

    func testJSONArray_syntaxErrorCannotBeSkipped() throws {
        let path = try dir.write("data.json", "[\n {\"text\": \"a\"},\n {\"text\": \"b\" \"c\"}\n]")
        do {
            _ = try DatasetReader(skipBadRecords: true).read(path)
            XCTFail("a broken .json document must stop the read")
        } catch let error as DatasetError {
            XCTAssertEqual(error.kind, .invalidJSON)
            XCTAssertEqual(error.line, 3)
        }
    }

    func testFileNotFound_noRecordsAndUnknownFormat() throws {
        XCTAssertEqual(readError("\(dir.path)/missing.jsonl")?.kind, .fileNotFound)
        XCTAssertEqual(readError(try dir.write("empty.jsonl", "\n\n"))?.kind, .noRecords)
        let unknown = readError(try dir.writeLines("data.jsonl", [#"{"foo": 1, "bar": "x"}"#]))
        XCTAssertEqual(unknown?.kind, .unknownFormat)
        XCTAssertEqual(unknown?.line, 1)
        XCTAssertTrue(unknown!.description.contains("bar, foo"), unknown!.description)
        XCTAssertTrue(unknown!.description.contains("--format"), unknown!.description)
    }

    func testTrlTrap_shareGPTReadAsTextNamesTheRealProblem() throws {
        let path = try dir.writeLines("data.jsonl", [good])
        let error = readError(path, format: .text)
        assertPlace(error, kind: .missingField, line: 1, field: "text")
        XCTAssertTrue(error!.description.contains("only the fields conversations"), error!.description)
    }

    func testSkipBadRecords_reportsCountAndPlaces() throws {
        let path = try dir.writeLines("data.jsonl", [
            good,
            #"{"conversations": [{"from": "human", "value": "q"}, {"from": "bot2", "value": "a"}]}"#,
            good,
            "{not json",
            #"{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": ""}]}"#,
            good,
        ])
        let set = try DatasetReader(skipBadRecords: true).read(path)
        XCTAssertEqual(set.records.count, 3)
        XCTAssertEqual(set.records.map(\.source.line), [1, 3, 6])
        XCTAssertEqual(set.skipped.map(\.line), [2, 4, 5])
        XCTAssertEqual(set.skipped.map(\.kind), [.unknownRole, .invalidJSON, .emptyContent])
        XCTAssertEqual(set.files.first?.skipped, 3)
        let report = SkippedRecord.report(set.skipped)
        XCTAssertTrue(report.hasPrefix("skipped 3 bad records:"), report)
        XCTAssertTrue(report.contains("data.jsonl:4: invalid JSON at column 2"), report)
    }

    func testSkipBadRecords_allBadIsStillAnError() throws {
        let path = try dir.writeLines("data.jsonl", ["{oops", "[1]"])
        XCTAssertThrowsError(try DatasetReader(format: .text, skipBadRecords: true).read(path)) { error in
            XCTAssertEqual((error as? DatasetError)?.kind, .noRecords)
            XCTAssertTrue("\(error)".contains("2 bad records skipped"), "\(error)")
        }
    }
}
