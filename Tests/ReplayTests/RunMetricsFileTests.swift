import Foundation
import Replay
import XCTest

final class RunMetricsFileTests: XCTestCase {
    private func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).jsonl").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testMetricsFile_readsNumbersAndNonFiniteStrings() throws {
        let m = try RunMetricsFile(path: file("{\"step\":1,\"kl\":0.5,\"note\":\"x\"}\n{\"step\":2,\"kl\":\"nan\",\"reward\\/score\":1}\n"))
        XCTAssertEqual(m.lines.count, 2)
        XCTAssertEqual(m.lines[0], ["step": 1, "kl": 0.5])
        XCTAssertTrue(m.lines[1]["kl"]!.isNaN)
        XCTAssertEqual(m.lines[1]["reward/score"], 1)
        XCTAssertTrue(m.warnings.isEmpty)
    }

    func testMetricsFile_skipsATornLastLineWithAWarning() throws {
        let m = try RunMetricsFile(path: file("{\"step\":1,\"kl\":0.5}\n{\"step\":2,\"kl\":0."))
        XCTAssertEqual(m.lines.count, 1)
        XCTAssertEqual(m.warnings.count, 1)
        XCTAssertTrue(m.warnings[0].contains(":2: the last line is cut short"), m.warnings[0])
    }

    func testMetricsFile_namesTheFileAndLineOfABadLine() throws {
        let path = try file("{\"step\":1}\nnot json\n{\"step\":3}\n")
        XCTAssertThrowsError(try RunMetricsFile(path: path)) { error in
            let e = error as? ReportError
            XCTAssertEqual(e?.file, path)
            XCTAssertEqual(e?.line, 2)
            XCTAssertTrue(String(describing: error).hasPrefix("\(path):2: not a JSON object"), String(describing: error))
        }
        // A complete (newline-ended) last line that is bad is an error too, not a torn tail.
        XCTAssertThrowsError(try RunMetricsFile(path: file("{\"step\":1}\n[1,2]\n")))
    }
}
