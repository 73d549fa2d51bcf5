import Foundation
import Synchronization
import Topology
import XCTest

/// `run(liveness:)` with real children and real SIGSTOP: a child that answered and then falls
/// silent is killed and handled as a dead one (restarted within its budget, then the run's end,
/// named with the silence); one that never answered (loading) is left alone.
final class ProcessSupervisorLivenessTests: XCTestCase {
    /// What the fake probe saw and did, shared with the supervisor's watch.
    private final class Probed: Sendable {
        /// Answers given per pid, and the pids it stopped.
        let answers = Mutex<[Int32: Int]>([:])
        let stopped = Mutex<[Int32]>([])
        let lines = Mutex<[String]>([])
    }

    /// The reward's process answers two pings, then is stopped with SIGSTOP (as `kill -STOP`
    /// would): killed, started again, its second process stopped the same way and killed, and
    /// with its budget of one restart spent, the run ends naming it and the silence. The actor
    /// answers throughout and the `loading` child never does: neither is killed.
    func testSilentChild_isKilled_restartedWithinItsBudget_thenEndsTheRun() async throws {
        let probed = Probed()
        let supervisor = ProcessSupervisor(terminal: .lines { line in probed.lines.withLock { $0.append(line) } })
        try supervisor.start(ChildSpec(name: "actor", argv: ["sleep", "300"]))
        try supervisor.start(ChildSpec(name: "loading", argv: ["sleep", "300"]))
        try supervisor.start(ChildSpec(name: "reward", argv: ["sleep", "300"], restarts: 1))
        defer {
            for pid in probed.stopped.withLock({ $0 }) where ProcessTable.isAlive(pid) { kill(pid, SIGKILL) }
        }
        let check = LivenessCheck(children: ["actor", "loading", "reward"], interval: .milliseconds(50),
                                  silenceLimit: .milliseconds(300), setting: "test.silence") { [supervisor] name in
            switch name {
            case "actor": return true
            case "reward":
                guard let pid = supervisor.runningChildren["reward"] else { return false }
                let answered = probed.answers.withLock { a -> Bool in
                    guard a[pid, default: 0] < 2 else { return false }
                    a[pid, default: 0] += 1
                    return true
                }
                if !answered, !probed.stopped.withLock({ $0.contains(pid) }) {
                    kill(pid, SIGSTOP)
                    probed.stopped.withLock { $0.append(pid) }
                }
                return answered
            default: return false
            }
        }
        let start = ContinuousClock.now
        let outcome = await supervisor.run(gracePeriod: .seconds(2), handleSignals: false, liveness: check)
        let took = ContinuousClock.now - start

        guard case .childFailed(let exit) = outcome.reason else { return XCTFail("expected the reward's end, got \(outcome.reason)") }
        XCTAssertEqual(exit.name, "reward")
        XCTAssertEqual(exit.status, .signalled(SIGKILL))
        let cause = try XCTUnwrap(exit.cause)
        XCTAssertTrue(cause.hasPrefix("answered no ping for ") && cause.hasSuffix(" s, over test.silence = 0.3 s"), cause)
        XCTAssertTrue(outcome.description.contains("reward (pid \(exit.pid)) answered no ping for "), outcome.description)
        XCTAssertTrue(outcome.description.contains("and was killed by SIGKILL"), outcome.description)
        let stopped = probed.stopped.withLock { $0 }
        XCTAssertEqual(stopped.count, 2, "the first process and its replacement were stopped")
        XCTAssertEqual(stopped.last, exit.pid)
        let lines = probed.lines.withLock { $0 }
        XCTAssertEqual(lines.filter { $0.contains("killing it (SIGKILL)") }.count, 2, "\(lines)")
        let watched = lines.filter { $0.contains(" | answers pings; watched from now on (killed after test.silence = 0.3 s without an answer)") }
        XCTAssertEqual(watched.map { String($0.prefix(while: { $0 != " " })) }.sorted(), ["actor", "reward", "reward"],
                       "each process said once, when it first answered; never the loading one")
        XCTAssertEqual(lines.filter { $0.contains("starting it again (restart 1 of 1)") }.count, 1, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("reward") && $0.contains(" | ended (answered no ping for ") }, "\(lines)")
        for name in ["actor", "loading"] {
            let other = try XCTUnwrap(outcome.exits.first { $0.name == name })
            XCTAssertTrue(other.stoppedBySupervisor, name)
            XCTAssertNil(other.cause, name)
            XCTAssertEqual(other.status, .signalled(SIGTERM), name)
        }
        XCTAssertEqual(ProcessTable.waitUntilGone(stopped, timeout: 2), [], "a stopped process outlived its kill")
        XCTAssertLessThan(took, .seconds(20), "two silences of 0.3 s")
    }

    /// Without a check nothing is pinged, and a stopped child stays until the run ends
    /// (SIGKILL at the end of the grace period reaches it).
    func testWithoutACheck_aStoppedChildIsLeftUntilTheRunEnds() async throws {
        let supervisor = ProcessSupervisor(terminal: .silent)
        let stuck = try supervisor.start(ChildSpec(name: "critic", argv: ["sleep", "300"]))
        kill(stuck, SIGSTOP)
        defer { if ProcessTable.isAlive(stuck) { kill(stuck, SIGKILL) } }
        try supervisor.start(ChildSpec(name: "buffer", argv: ["/bin/sh", "-c", "sleep 0.5"], finishesRun: true))
        let outcome = await supervisor.run(gracePeriod: .milliseconds(300), handleSignals: false)
        XCTAssertEqual(outcome.exitCode, 0, "\(outcome)")
        let critic = try XCTUnwrap(outcome.exits.first { $0.name == "critic" })
        XCTAssertTrue(critic.stoppedBySupervisor)
        XCTAssertEqual(critic.status, .signalled(SIGKILL), "SIGTERM waits for a stopped process; SIGKILL does not")
        XCTAssertEqual(ProcessTable.waitUntilGone([stuck], timeout: 2), [])
    }
}
