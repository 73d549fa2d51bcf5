import Foundation
import Messaging
import Roles
import Synchronization
import TestSupport
import Topology
import XCTest

/// Over 10,000 hostile messages to every role's tcp socket of a running run, from a peer with the
/// run's key (each refused and counted once, by the counter its kind belongs to), and peers
/// without a valid key (each refused at its handshake and counted once): no role dies, and the
/// run's experience log and weights are those of the same run without the traffic, bit for bit.
final class HostileTrafficRunTests: XCTestCase {
    private static let roles: [RoleName] = [.actor, .reference, .reward, .critic]
    /// Keyless peers per role and kind (each one handshake).
    private static let knocks = 60

    func testHostileTrafficToEveryRole_isCountedOnce_andChangesNoBit() throws {
        let dir = try StepThreeRuns.temporaryDirectory("hostile-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The coordinator is paused while the traffic lasts: its pings of a role with a request
        // out must not count the pause as the role's silence (the figures do not depend on it).
        func topology(_ name: String) throws -> String {
            try StepThreeRuns.topology(dir, name: name, transport: "tcp, base_port: \(StepThreeRuns.basePort()), coordinator_silence_limit_seconds: 600",
                                       iterations: 30, saveEvery: 15)
        }
        let loud = try topology("loud")
        let spec = try TopologyParser.load(path: loud)
        let curve = try XCTUnwrap(try spec.curveSecurity(forHost: "local"))
        let runID = RunIdentity.number(spec.run.name)
        var traffic: [RoleName: [HostileMessage]] = [:]
        for role in Self.roles {
            var maker = HostileTraffic(runID: runID)
            traffic[role] = try maker.messages()
        }
        XCTAssertGreaterThanOrEqual(traffic[.actor]!.count, 10_000)

        let output = "\(dir)/loud-launch.log"
        FileManager.default.createFile(atPath: output, contents: nil)
        let launch = Process()
        launch.executableURL = URL(fileURLWithPath: CLIProcess.executable)
        launch.arguments = ["launch", loud]
        launch.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        launch.standardError = launch.standardOutput
        let started = ContinuousClock.now
        try launch.run()
        defer { if launch.isRunning { launch.terminate() } }

        let replies = Shared<[RoleName: [Int64: Int]]>([:]), failures = Shared<[String]>([])
        // Every role listens (answers a ping) before the keyless peers knock, since one that finds
        // no listener has no handshake to fail; the floods wait for the knocks, so that each
        // role's I/O thread has read every failed handshake long before the role exits.
        let ready = DispatchGroup(), knocked = DispatchSemaphore(value: 0), done = DispatchGroup()
        for role in Self.roles {
            let (messages, endpoint) = (traffic[role]!, spec.endpoint(for: role))
            ready.enter()
            done.enter()
            Thread {
                var signalled = false
                do {
                    let codes = try HostilePeer.flood(messages, to: endpoint, keyPair: curve.keyPair, serverKey: curve.serverKeys[endpoint]!,
                                                      runID: runID) {
                        signalled = true
                        ready.leave()
                        knocked.wait()
                    }
                    replies.update { $0[role] = codes }
                } catch {
                    failures.update { $0.append("\(role.rawValue): \(error)") }
                }
                if !signalled { ready.leave() }
                done.leave()
            }.start()
        }
        done.enter()
        Thread {
            if ready.wait(timeout: .now() + 180) == .success {
                for role in Self.roles {
                    let endpoint = spec.endpoint(for: role)
                    for kind in HostilePeer.Keyless.allCases {
                        do {
                            try HostilePeer.knock(endpoint, kind: kind, count: Self.knocks, runKeyPair: curve.keyPair, serverKey: curve.serverKeys[endpoint]!)
                        } catch {
                            failures.update { $0.append("\(role.rawValue), \(kind): \(error)") }
                        }
                    }
                }
            }
            for _ in Self.roles { knocked.signal() }
            done.leave()
        }.start()

        // The run goes on while the traffic starts; after its first iteration the coordinator is
        // paused (SIGSTOP) until the traffic is over, so that every hostile message meets a
        // running run, however fast this machine trains.
        try waitUntil("the run's first iteration", timeout: .seconds(180)) {
            !launch.isRunning || !((try? String(contentsOfFile: "\(dir)/loud/metrics.jsonl", encoding: .utf8))?.isEmpty ?? true)
        }
        let buffer = try XCTUnwrap(Self.serveProcess(role: "buffer", topology: loud), "the coordinator's process: \(Self.tail(output))")
        kill(buffer, SIGSTOP)
        let finished = done.wait(timeout: .now() + 300)
        kill(buffer, SIGCONT)
        XCTAssertEqual(finished, .success, "the traffic did not end within 300 s")
        XCTAssertEqual(failures.value, [])
        launch.waitUntilExit()
        let seconds = (ContinuousClock.now - started).components.seconds
        XCTAssertEqual(launch.terminationStatus, 0, Self.tail(output))
        let said = try String(contentsOfFile: output, encoding: .utf8)
        XCTAssertFalse(said.contains("starting it again") || said.contains(" ended ("), "a role died: \(Self.tail(output))")

        // Each message counted once, by its kind's counter; each keyless peer once, at its handshake.
        for role in Self.roles {
            let messages = traffic[role]!
            var expected: [String: Int] = ["unauthorizedKeys": Self.knocks, "failedHandshakes": 2 * Self.knocks]
            for m in messages { expected[m.counter, default: 0] += 1 }
            expected["errorRepliesSent"] = messages.count - expected["badRequests"]!
            let counted = try Self.trafficCounters(role: role, run: "\(dir)/loud")
            for (name, n) in expected { XCTAssertEqual(counted[name], n, "\(role.rawValue): \(name); \(counted)") }
            var codes: [Int64: Int] = [:]
            for m in messages { codes[m.code, default: 0] += 1 }
            XCTAssertEqual(replies.value[role], codes, "\(role.rawValue): one reply per message, with its code")
        }
        print("hostile run: \(traffic.values.map(\.count).reduce(0, +)) messages and \(Self.roles.count * 3 * Self.knocks) keyless peers in \(seconds) s")

        let quiet = try topology("quiet")
        try StepThreeRuns.succeed(["launch", quiet])
        let diff = try StepThreeRuns.succeed(["replay", "diff", "\(dir)/quiet", "\(dir)/loud"])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), diff.stdout)
        XCTAssertEqual(try StepThreeRuns.bytes("\(dir)/quiet/final/model.safetensors"), try StepThreeRuns.bytes("\(dir)/loud/final/model.safetensors"))
    }

    /// The counters of `role`'s `traffic at` line (logged once, at exit), by name.
    private static func trafficCounters(role: RoleName, run: String) throws -> [String: Int] {
        let log = try String(contentsOfFile: "\(run)/logs/\(role.rawValue).log", encoding: .utf8)
        let lines = log.split(separator: "\n").filter { $0.contains("\(role.rawValue) traffic at tcp://") }
        guard lines.count == 1, let line = lines.first, let colon = line.range(of: "traffic at tcp://") else {
            throw HostilePeer.Failure(description: "\(role.rawValue): \(lines.count) traffic lines in its log")
        }
        let counters = line[colon.upperBound...].drop { $0 != " " }
        var out: [String: Int] = [:]
        for pair in counters.split(separator: ",") {
            let words = pair.split(separator: " ")
            if words.count == 2, let n = Int(words[1]) { out[String(words[0])] = n }
        }
        return out
    }

    /// The pid of the `rlhf serve` process of `role` for `topology`.
    private static func serveProcess(role: String, topology: String) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.first { pid in
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let argv = String(decoding: raw, as: UTF8.self).split(separator: "\0").map(String.init)
            return argv.contains("serve") && argv.contains(topology) && argv.contains(role)
        }
    }

    private static func tail(_ path: String) -> String {
        String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").suffix(3000))
    }
}

/// A value the test's threads share.
private final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func update(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}
