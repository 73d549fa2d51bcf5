import Topology
import XCTest

/// The launcher's silence detector as a state machine over given times: who is watched, when one
/// is to be killed, and that a restarted process starts over.
final class LivenessWatchTests: XCTestCase {
    private let t0 = ContinuousClock.now
    private func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int(seconds * 1000)) }

    /// A process that has not answered yet is loading its model: never killed, however long.
    func testChildThatNeverAnswered_isNotWatched() {
        var watch = LivenessWatch(silenceLimit: .seconds(10))
        for s in stride(from: 0.0, through: 600, by: 1) {
            XCTAssertNil(watch.observe("actor", pid: 10, answered: false, at: at(s)))
        }
        XCTAssertFalse(watch.isWatched("actor"))
    }

    /// Once it answered, silence beyond the limit (not at it) asks for one kill, with how long.
    func testAnsweredThenSilent_isKilledOnceWhenPastTheLimit() {
        var watch = LivenessWatch(silenceLimit: .seconds(10))
        XCTAssertEqual(watch.observe("critic", pid: 11, answered: true, at: at(0)), .watching(name: "critic", pid: 11))
        XCTAssertTrue(watch.isWatched("critic"))
        XCTAssertNil(watch.observe("critic", pid: 11, answered: true, at: at(5)))
        XCTAssertNil(watch.observe("critic", pid: 11, answered: false, at: at(10)))
        XCTAssertNil(watch.observe("critic", pid: 11, answered: false, at: at(15)), "10 s of silence is the limit, not past it")
        XCTAssertEqual(watch.observe("critic", pid: 11, answered: false, at: at(15.5)),
                       .kill(name: "critic", pid: 11, silentFor: .milliseconds(10_500)))
        XCTAssertNil(watch.observe("critic", pid: 11, answered: false, at: at(30)), "asked once")
        XCTAssertNil(watch.observe("critic", pid: 11, answered: true, at: at(31)), "a late answer does not undo the kill")
        XCTAssertNil(watch.observe("critic", pid: 11, answered: false, at: at(60)))
    }

    /// Each answer restarts the count; children are counted apart.
    func testAnswers_resetTheSilence_perChild() {
        var watch = LivenessWatch(silenceLimit: .seconds(2))
        _ = watch.observe("reward-0", pid: 20, answered: true, at: at(0))
        _ = watch.observe("reward-1", pid: 21, answered: true, at: at(0))
        for s in [1.5, 3] {
            XCTAssertNil(watch.observe("reward-0", pid: 20, answered: true, at: at(s)))
            XCTAssertNil(watch.observe("reward-1", pid: 21, answered: s < 3, at: at(s)), "at \(s)")
        }
        XCTAssertEqual(watch.observe("reward-1", pid: 21, answered: false, at: at(5)),
                       .kill(name: "reward-1", pid: 21, silentFor: .milliseconds(3500)))
        XCTAssertNil(watch.observe("reward-0", pid: 20, answered: false, at: at(5)), "silent 2 s: at the limit")
    }

    /// A new pid under the same name is the restarted process: unwatched until it answers, then
    /// killed in its turn when it falls silent.
    func testRestartedProcess_startsOver() {
        var watch = LivenessWatch(silenceLimit: .seconds(3))
        _ = watch.observe("reference", pid: 30, answered: true, at: at(0))
        XCTAssertNotNil(watch.observe("reference", pid: 30, answered: false, at: at(4)))
        XCTAssertNil(watch.observe("reference", pid: 31, answered: false, at: at(5)))
        XCTAssertFalse(watch.isWatched("reference"))
        XCTAssertNil(watch.observe("reference", pid: 31, answered: false, at: at(60)), "loading")
        XCTAssertEqual(watch.observe("reference", pid: 31, answered: true, at: at(61)), .watching(name: "reference", pid: 31))
        XCTAssertEqual(watch.observe("reference", pid: 31, answered: false, at: at(65)),
                       .kill(name: "reference", pid: 31, silentFor: .seconds(4)))
    }

    /// Children no longer running are forgotten (their names may come back as new processes).
    func testKeepOnly_forgetsEndedChildren() {
        var watch = LivenessWatch(silenceLimit: .seconds(3))
        _ = watch.observe("reward", pid: 40, answered: true, at: at(0))
        watch.keep(only: ["actor"])
        XCTAssertFalse(watch.isWatched("reward"))
        XCTAssertNil(watch.observe("reward", pid: 40, answered: false, at: at(10)), "forgotten: as if just started")
    }
}
