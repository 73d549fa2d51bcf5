import Foundation
import XCTest

/// `rlhf replay report` as its users run it: on a run directory's metrics.jsonl.
final class ReplayReportTests: XCTestCase {
    private func runDirectory(_ metrics: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try metrics.write(toFile: "\(dir)/metrics.jsonl", atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    private let lines = (1...3).map { "{\"step\":\($0),\"reward\\/score\":0.\($0),\"kl\":0.0\($0),\"entropy\":0.5}" }

    func testReport_isWrittenIntoTheRunByDefault_andATornLastLineIsSkipped() throws {
        let run = try runDirectory(lines.joined(separator: "\n") + "\n{\"step\":4,\"kl\":0.")
        let r = try CLIProcess.run(["replay", "report", run])
        r.assertSucceeded("replay report")
        XCTAssertTrue(r.stderr.contains("metrics.jsonl:4: the last line is cut short"), r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["report"] as? String, "\(run)/report.html")
        XCTAssertEqual(json["iterations"] as? Int, 3)
        let html = try String(contentsOfFile: "\(run)/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<b>Reward</b>") && html.contains("<b>Entropy</b>"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run).sorted(), ["metrics.jsonl", "report.html"],
                       "no temporary file is left beside it")
    }

    func testReport_refusesABadLine_namingFileAndLine() throws {
        let run = try runDirectory(lines[0] + "\n{oops}\n" + lines[1] + "\n")
        let r = try CLIProcess.run(["replay", "report", run, "--out", "\(run)/r.html"])
        r.assertRefused("\(run)/metrics.jsonl:2:", "not a JSON object")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/r.html"))
        try CLIProcess.run(["replay", "report", "\(run)/nowhere"]).assertRefused("nowhere", "no such run directory")
    }
}
