import Foundation
import Messaging
import Roles
import TestSupport
import Topology
import XCTest

/// A peer that knows a run's name and reads Docs/messages.md sends the roles of a running step 3
/// `save` and `restore` requests: none names a path any more, and nothing it sends makes a
/// role write or read outside what the coordinator asked for. (Over `insecure` tcp, so that the
/// peer reaches the roles at all: with keys, CURVE refuses it first; see CurveRunTests.)
final class RawPeerTests: XCTestCase {
    func testSaveAndRestoreFromAPeer_areRefusedAndWriteNothing() async throws {
        let dir = try StepThreeRuns.temporaryDirectory("raw-peer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try StepThreeRuns.topology(dir, name: "peer", transport: "tcp, insecure: true, base_port: \(StepThreeRuns.basePort())",
                                              iterations: 1_000_000, saveEvery: 1_000_000)
        let run = "\(dir)/peer", elsewhere = "\(dir)/chosen-by-the-peer"
        let launch = Process()
        launch.executableURL = URL(fileURLWithPath: CLIProcess.executable)
        launch.arguments = ["launch", path]
        launch.standardOutput = FileHandle.nullDevice
        launch.standardError = FileHandle.nullDevice
        try launch.run()
        defer { if launch.isRunning { launch.terminate() } }
        try await waitUntil("the run's first iteration", timeout: .seconds(120)) {
            !launch.isRunning || !((try? String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8))?.isEmpty ?? true)
        }
        guard launch.isRunning else { return XCTFail("the run ended before the peer spoke") }

        let plan = try TopologyParser.load(path: path).runPlan()
        let node = try MessagingNode(MessagingNode.Configuration(runID: RunIdentity.number(plan.runID)))
        let requests: [(String, [String: MetadataValue])] = [
            ("save into a directory (the old format)", ["kind": .string("save"), "strings": .object(["directory": .string(elsewhere)])]),
            ("save a checkpoint with a directory", ["kind": .string("save"), "strings": .object(["target": .string("checkpoint"), "directory": .string(elsewhere)]),
                                                    "integers": .object(["iteration": .int(5)])]),
            ("save a checkpoint no coordinator opened", ["kind": .string("save"), "strings": .object(["target": .string("checkpoint")]),
                                                          "integers": .object(["iteration": .int(5)])]),
            ("save the final model unasked", ["kind": .string("save"), "strings": .object(["target": .string("final")])]),
            ("save a negative iteration", ["kind": .string("save"), "strings": .object(["target": .string("checkpoint")]),
                                           "integers": .object(["iteration": .int(-1)])]),
            ("restore from a directory", ["kind": .string("restore"), "strings": .object(["directory": .string(elsewhere)])]),
            ("restore a checkpoint that does not exist", ["kind": .string("restore"), "integers": .object(["iteration": .int(999)])]),
        ]
        for role in [RoleName.actor, .critic] {
            let client = try await node.client(connect: try XCTUnwrap(plan.endpoints[role]))
            for (what, metadata) in requests {
                do {
                    _ = try await client.request(Message(kind: RoleMessages.roleRequest, metadata: metadata), timeout: .seconds(30))
                    XCTFail("\(role.rawValue) served a peer's request to \(what)")
                } catch let error as MessagingError {
                    guard case .remote(let code) = error.code else { return XCTFail("\(role.rawValue), \(what): \(error)") }
                    XCTAssertTrue(code == 100 || code == 101, "\(role.rawValue), \(what): error code \(code)")
                }
            }
        }
        await node.shutdown()
        XCTAssertFalse(FileManager.default.fileExists(atPath: elsewhere), "a role wrote where a peer told it to")
        let left = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains("checkpoint") || $0.contains("final") }
        XCTAssertEqual(left, [], "a role saved something no coordinator asked for")
        XCTAssertTrue(launch.isRunning, "the run goes on after the peer's requests")
        launch.terminate()
        launch.waitUntilExit()
    }
}
