import Foundation
import Topology
import XCTest

/// `transport.request_timeout_seconds`: how long the coordinator waits for one answer of a role.
/// Its default, its way into the run plan, and every value refused with file, line and column.
/// (RunPathTests.testHungRole_stopsTheRunAfterTheRequestTimeout runs it end to end.)
final class RequestTimeoutTests: XCTestCase {
    private let minimal = TopologyParserTests.minimal

    private func parse(_ yaml: String, file: String = "t.yaml") throws -> TopologySpec {
        try TopologyParser.parse(yaml: yaml, file: file, options: .init(checkFiles: false, allowedCores: [0, 1]))
    }

    /// The descriptions of the faults `yaml` is refused with (none when it is accepted).
    private func faults(_ yaml: String, file: String = "t.yaml") -> [String] {
        do {
            _ = try parse(yaml, file: file)
            return []
        } catch let error as TopologyErrors {
            return error.errors.map(\.description)
        } catch {
            return ["unexpected \(error)"]
        }
    }

    func testDefault_isSixHundredSeconds_andReachesTheRunPlan() throws {
        let spec = try parse(minimal)
        XCTAssertEqual(spec.transport.requestTimeoutSeconds, 600)
        XCTAssertEqual(try spec.runPlan().requestTimeoutSeconds, 600)
    }

    func testGivenValue_reachesTheRunPlan() throws {
        let spec = try parse(minimal + "\ntransport: {kind: inproc, request_timeout_seconds: 2.5}")
        XCTAssertEqual(spec.transport.requestTimeoutSeconds, 2.5)
        XCTAssertEqual(try spec.runPlan().requestTimeoutSeconds, 2.5)
        XCTAssertEqual(try parse(minimal + "\ntransport: {request_timeout_seconds: 86400}").transport.requestTimeoutSeconds, 86_400)
    }

    func testValuesThatAreNotAPositiveFiniteNumberOfSeconds_areRefusedWithTheirPlace() {
        let cases: [(String, String)] = [
            ("0", "bad.yaml:6:38: transport.request_timeout_seconds: must be above 0 and at most 86400 (a day), got 0.0"),
            ("-3", "bad.yaml:6:38: transport.request_timeout_seconds: must be above 0 and at most 86400 (a day), got -3.0"),
            ("1.0e9", "bad.yaml:6:38: transport.request_timeout_seconds: must be above 0 and at most 86400 (a day), got 1000000000.0"),
            (".inf", "bad.yaml:6:38: transport.request_timeout_seconds: expected a finite number, got \".inf\""),
            ("nan", "bad.yaml:6:38: transport.request_timeout_seconds: expected a finite number, got nan"),
            ("ten", "bad.yaml:6:38: transport.request_timeout_seconds: expected a finite number, got \"ten\""),
        ]
        for (value, message) in cases {
            XCTAssertEqual(faults(minimal + "\ntransport: {request_timeout_seconds: \(value)}", file: "bad.yaml"), [message], value)
        }
        XCTAssertEqual(faults(minimal + "\ntransport: {request_timeout_secnds: 5}"),
                       ["t.yaml:6:13: transport.request_timeout_secnds: unknown key (did you mean 'request_timeout_seconds'?)"])
    }
}
