import XCTest
import Replay

final class ReportSampleTests: XCTestCase {
    func testReportSample_keepsItsFields() {
        let s = ReportSample(iteration: 3, row: 1, label: "highest reward", prompt: "p", tokens: ["a", "b"],
                             perToken: ["kl": [0.5, -0.5]], score: 2)
        XCTAssertEqual(s.perToken["kl"]?.count, s.tokens.count)
        XCTAssertEqual(s.iteration, 3)
    }
}
