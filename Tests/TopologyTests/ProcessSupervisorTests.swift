import Foundation
import Synchronization
import Topology
import XCTest

/// The supervisor with real child processes (/bin/sh, sleep) and real signals.
final class ProcessSupervisorTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "supervisor-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Collects the terminal's prefixed lines.
    private final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    func testRun_namesTheChildThatDies_withItsStatusAndLastLines_andStopsTheOthers() async throws {
        let captured = Lines()
        let supervisor = ProcessSupervisor(terminal: .lines { line in captured.lines.withLock { $0.append(line) } }, tailLines: 2)
        let sleeper = try supervisor.start(ChildSpec(name: "actor", argv: ["sleep", "300"]))
        let log = directory + "/logs/reward.log"
        try supervisor.start(ChildSpec(name: "reward", argv: ["/bin/sh", "-c", "echo one; echo two >&2; echo three; sleep 0.2; exit 3"],
                                       logFile: log))
        let outcome = await supervisor.run(gracePeriod: .seconds(2), handleSignals: false)

        guard case .childFailed(let exit) = outcome.reason else { return XCTFail("expected a failed child, got \(outcome.reason)") }
        XCTAssertEqual(exit.name, "reward")
        XCTAssertEqual(exit.status, .exited(3))
        XCTAssertEqual(exit.lastLines, ["two", "three"])
        XCTAssertEqual(exit.logFile, log)
        XCTAssertFalse(exit.stoppedBySupervisor)
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertTrue(outcome.description.contains("reward (pid \(exit.pid)) exited with status 3"), outcome.description)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "one\ntwo\nthree\n")
        XCTAssertTrue(captured.all.contains("reward | two"), "\(captured.all)")

        let actor = try XCTUnwrap(outcome.exits.first { $0.name == "actor" })
        XCTAssertTrue(actor.stoppedBySupervisor)
        XCTAssertEqual(actor.status, .signalled(SIGTERM))
        XCTAssertEqual(ProcessTable.waitUntilGone([sleeper], timeout: 0), [])
        XCTAssertTrue(supervisor.runningChildren.isEmpty)
    }

    /// A child with a restart budget is started again each time it dies, then, with the budget
    /// spent, its death ends the run as any other.
    func testRun_restartsAChildWithABudget_untilItIsSpent() async throws {
        let captured = Lines()
        let supervisor = ProcessSupervisor(terminal: .lines { line in captured.lines.withLock { $0.append(line) } })
        try supervisor.start(ChildSpec(name: "actor", argv: ["sleep", "300"]))
        let counter = directory + "/starts"
        try supervisor.start(ChildSpec(name: "reward", argv: ["/bin/sh", "-c", "echo started >> \(counter); sleep 0.1; exit 3"], restarts: 2))
        let outcome = await supervisor.run(gracePeriod: .seconds(2), handleSignals: false)
        guard case .childFailed(let exit) = outcome.reason else { return XCTFail("expected a failed child, got \(outcome.reason)") }
        XCTAssertEqual(exit.name, "reward")
        XCTAssertEqual(try String(contentsOfFile: counter, encoding: .utf8), "started\nstarted\nstarted\n", "started, then restarted twice")
        XCTAssertEqual(captured.all.filter { $0.contains("starting it again") },
                       ["reward | ended (exited with status 3); starting it again (restart 1 of 2)",
                        "reward | ended (exited with status 3); starting it again (restart 2 of 2)"])
        XCTAssertTrue(supervisor.runningChildren.isEmpty)
    }

    func testRun_completes_whenTheFinishingChildExitsZero() async throws {
        let supervisor = ProcessSupervisor(terminal: .silent)
        try supervisor.start(ChildSpec(name: "actor", argv: ["sleep", "300"]))
        try supervisor.start(ChildSpec(name: "buffer", argv: ["/bin/sh", "-c", "sleep 0.1"], finishesRun: true))
        let outcome = await supervisor.run(gracePeriod: .seconds(2), handleSignals: false)
        guard case .completed(let exit) = outcome.reason else { return XCTFail("expected completion, got \(outcome.reason)") }
        XCTAssertEqual(exit.name, "buffer")
        XCTAssertEqual(outcome.exitCode, 0)
    }

    func testStop_killsAChildThatIgnoresSIGTERM_andItsGrandchildren_afterTheGracePeriod() async throws {
        let supervisor = ProcessSupervisor(terminal: .silent)
        // sh ignores TERM and so does its sleep (an ignored disposition is inherited).
        let pid = try supervisor.start(ChildSpec(name: "stubborn", argv: ["/bin/sh", "-c", "trap '' TERM; sleep 300; sleep 300"]))
        var group = ProcessTable.members(ofGroup: pid)
        for _ in 0..<250 where group.count < 2 {  // up to 5 s on a loaded machine for sh to start sleep
            try await Task.sleep(for: .milliseconds(20))
            group = ProcessTable.members(ofGroup: pid)
        }
        XCTAssertEqual(group.count, 2, "sh and its sleep should share the child's process group: \(group)")

        let start = ContinuousClock.now
        let exits = await supervisor.stop(gracePeriod: .milliseconds(300))
        let took = ContinuousClock.now - start
        XCTAssertGreaterThanOrEqual(took, .milliseconds(300), "SIGKILL must wait for the grace period")
        XCTAssertEqual(exits.map(\.status), [.signalled(SIGKILL)])
        XCTAssertEqual(ProcessTable.waitUntilGone(group, timeout: 2), [], "a process outlived stop()")
        XCTAssertThrowsError(try supervisor.start(ChildSpec(name: "late", argv: ["true"])), "no start after stop")
    }

    func testStart_pinsCores_andAddsTheComputeEnvironment() async throws {
        let cores = TopologyValidator.allowedCores()
        let core = try XCTUnwrap(cores.last)
        let captured = Lines()
        let supervisor = ProcessSupervisor(terminal: .lines { line in captured.lines.withLock { $0.append(line) } })
        try supervisor.start(ChildSpec(
            name: "critic", argv: ["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status; echo threads=$OPENBLAS_NUM_THREADS/$RLHF_THREADS/$OPENBLAS_CORETYPE"],
            environment: ChildSpec.computeEnvironment(threads: 3, coreType: "HASWELL"), cores: [core], finishesRun: true))
        let outcome = await supervisor.run(gracePeriod: .seconds(1), handleSignals: false)
        XCTAssertEqual(outcome.exitCode, 0, "\(outcome)")
        XCTAssertEqual(captured.all, ["critic | Cpus_allowed_list:\t\(core)", "critic | threads=3/3/HASWELL"])
    }

    func testStart_throwsForAMissingProgram_andAFailedExec() throws {
        let supervisor = ProcessSupervisor(terminal: .silent)
        XCTAssertThrowsError(try supervisor.start(ChildSpec(name: "ghost", argv: ["no-such-program-xyz"]))) { error in
            XCTAssertTrue("\(error)".contains("cannot start ghost: program \"no-such-program-xyz\" not found"), "\(error)")
        }
        XCTAssertThrowsError(try supervisor.start(ChildSpec(name: "ghost", argv: [directory + "/missing"]))) { error in
            XCTAssertTrue("\(error)".contains("exec failed: No such file or directory"), "\(error)")
        }
        XCTAssertThrowsError(try supervisor.start(ChildSpec(name: "pinned", argv: ["true"], cores: [1023]))) { error in
            XCTAssertTrue("\(error)".contains("sched_setaffinity"), "\(error)")
        }
        XCTAssertTrue(supervisor.runningChildren.isEmpty)
    }

    // MARK: - The supervisor itself killed

    /// Starts the probe supervisor with `count` sleeping children and returns it with their pids.
    private func startProbe(count: Int) throws -> (Process, [Int32], FileHandle) {
        var url = Bundle(for: Self.self).bundleURL
        while url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        let probe = Process()
        probe.executableURL = url.appendingPathComponent("supervisor-probe")
        probe.arguments = [directory, String(count)]
        let out = Pipe()
        probe.standardOutput = out
        try probe.run()
        var text = ""
        let reader = out.fileHandleForReading
        while !text.contains("ready\n") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let pids = text.split(separator: "\n").compactMap { line -> Int32? in
            let parts = line.split(separator: " ")
            return parts.count == 3 && parts[0] == "pid" ? Int32(parts[2]) : nil
        }
        XCTAssertEqual(pids.count, count, text)
        XCTAssertTrue(pids.allSatisfy(ProcessTable.isAlive))
        return (probe, pids, reader)
    }

    func testSupervisorKilledWithSIGKILL_leavesNoOrphan() throws {
        let (probe, pids, _) = try startProbe(count: 3)
        kill(probe.processIdentifier, SIGKILL)
        probe.waitUntilExit()
        XCTAssertEqual(probe.terminationReason, .uncaughtSignal)
        XCTAssertEqual(ProcessTable.waitUntilGone(pids), [], "children outlived a SIGKILLed supervisor")
    }

    func testSupervisorGivenSIGTERM_stopsEveryChild_andExitsNonZero() throws {
        let (probe, pids, reader) = try startProbe(count: 2)
        kill(probe.processIdentifier, SIGTERM)
        probe.waitUntilExit()
        let rest = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(probe.terminationReason, .exit)
        XCTAssertEqual(probe.terminationStatus, 128 + SIGTERM, rest)
        XCTAssertTrue(rest.contains("outcome \(128 + SIGTERM)"), rest)
        XCTAssertEqual(ProcessTable.waitUntilGone(pids, timeout: 0.5), [], "children outlived a stopped supervisor")
    }
}
