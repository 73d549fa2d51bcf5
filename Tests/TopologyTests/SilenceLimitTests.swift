import Foundation
import Topology
import XCTest

/// `transport.probe_interval_seconds`, `silence_limit_seconds` and
/// `coordinator_silence_limit_seconds`: their defaults, their way into the run plan, and every
/// value refused with file, line and column. (SilentRoleTests runs them end to end.)
final class SilenceLimitTests: XCTestCase {
    private let minimal = TopologyParserTests.minimal

    private func parse(_ yaml: String) throws -> TopologySpec {
        try TopologyParser.parse(yaml: yaml, file: "t.yaml", options: .init(checkFiles: false, allowedCores: [0, 1]))
    }

    /// The descriptions of the faults `yaml` is refused with (none when it is accepted).
    private func faults(_ yaml: String) -> [String] {
        do {
            _ = try TopologyParser.parse(yaml: yaml, file: "bad.yaml", options: .init(checkFiles: false, allowedCores: [0, 1]))
            return []
        } catch let error as TopologyErrors {
            return error.errors.map(\.description)
        } catch {
            return ["unexpected \(error)"]
        }
    }

    /// One ping a second, ten seconds of silence for the launcher, three times that for the
    /// coordinator (the launcher's limit, then the kill, a new process and its model's load).
    func testDefaults_reachTheRunPlan() throws {
        let plan = try parse(minimal).runPlan()
        XCTAssertEqual(plan.probeIntervalSeconds, 1)
        XCTAssertEqual(plan.silenceLimitSeconds, 10)
        XCTAssertEqual(plan.coordinatorSilenceLimitSeconds, 30)
    }

    /// The coordinator's limit follows the launcher's unless given.
    func testGivenValues_reachTheRunPlan_andTheCoordinatorsDefaultFollowsTheSilenceLimit() throws {
        let short = try parse(minimal + "\ntransport: {probe_interval_seconds: 0.5, silence_limit_seconds: 2.5}").runPlan()
        XCTAssertEqual(short.probeIntervalSeconds, 0.5)
        XCTAssertEqual(short.silenceLimitSeconds, 2.5)
        XCTAssertEqual(short.coordinatorSilenceLimitSeconds, 7.5)
        let given = try parse(minimal + "\ntransport: {silence_limit_seconds: 4, coordinator_silence_limit_seconds: 120}").runPlan()
        XCTAssertEqual(given.silenceLimitSeconds, 4)
        XCTAssertEqual(given.coordinatorSilenceLimitSeconds, 120)
    }

    /// The coordinator must outwait the launcher's replacement of a silent role; the launcher
    /// must ping more than once per limit.
    func testLimitsInTheWrongOrder_areRefusedWithTheirPlace() {
        XCTAssertEqual(faults(minimal + "\ntransport: {silence_limit_seconds: 10, coordinator_silence_limit_seconds: 10}"), [
            "bad.yaml:6:75: transport.coordinator_silence_limit_seconds: must be longer than silence_limit_seconds (10.0), after which the launcher kills a silent role and starts a new one, which the coordinator waits for; got 10.0",
        ])
        XCTAssertEqual(faults(minimal + "\ntransport: {coordinator_silence_limit_seconds: 5}"), [
            "bad.yaml:6:48: transport.coordinator_silence_limit_seconds: must be longer than silence_limit_seconds (10.0), after which the launcher kills a silent role and starts a new one, which the coordinator waits for; got 5.0",
        ], "checked against the default silence limit too")
        XCTAssertEqual(faults(minimal + "\ntransport: {probe_interval_seconds: 3, silence_limit_seconds: 3}"), [
            "bad.yaml:6:63: transport.silence_limit_seconds: must be longer than probe_interval_seconds (3.0), got 3.0",
        ])
    }

    func testValuesThatAreNotAPositiveFiniteNumberOfSeconds_areRefused() {
        for key in ["probe_interval_seconds", "silence_limit_seconds", "coordinator_silence_limit_seconds"] {
            let column = 13 + key.count + 2
            XCTAssertEqual(faults(minimal + "\ntransport: {\(key): 0}"),
                           ["bad.yaml:6:\(column): transport.\(key): must be above 0 and at most 86400 (a day), got 0.0"], key)
            XCTAssertEqual(faults(minimal + "\ntransport: {\(key): ten}"),
                           ["bad.yaml:6:\(column): transport.\(key): expected a finite number, got \"ten\""], key)
        }
        XCTAssertEqual(faults(minimal + "\ntransport: {coordinator_silence_limit: 40}"),
                       ["bad.yaml:6:13: transport.coordinator_silence_limit: unknown key (did you mean 'coordinator_silence_limit_seconds'?)"])
    }
}
