import Messaging
import XCTest

/// The silence detector as a state machine over given times.
final class HeartbeatMonitorTests: XCTestCase {
    func testReportsSilenceOnceAndRecoveryOnce() {
        var m = HeartbeatMonitor<String>(silenceLimitNanoseconds: 100)
        m.watch("critic", now: 0)
        m.watch("reward", now: 0)
        XCTAssertEqual(m.check(at: 100), [])  // exactly at the limit is not yet silent
        XCTAssertNil(m.heard(from: "reward", at: 90))
        XCTAssertEqual(m.nextDeadline(), 101)
        XCTAssertEqual(m.check(at: 101), [.silent(peer: "critic", silentNanoseconds: 101)])
        XCTAssertEqual(m.check(at: 150), [])  // reported once
        XCTAssertEqual(m.silentPeers, ["critic"])
        XCTAssertEqual(m.check(at: 191), [.silent(peer: "reward", silentNanoseconds: 101)])
        XCTAssertEqual(m.heard(from: "critic", at: 200), .alive(peer: "critic"))
        XCTAssertNil(m.heard(from: "critic", at: 210))
        XCTAssertEqual(m.silentPeers, ["reward"])
        XCTAssertEqual(m.nextDeadline(), 311)
    }
}
