import Foundation
import Logging
import Messaging
import Roles
import ServiceLifecycle
import Training
import XCTest

/// A role server over a real ZeroMQ socket: hostile requests are answered with an error, logged
/// and counted, and the role goes on serving.
final class RoleServerTests: XCTestCase {
    /// A role that answers `save` and refuses the rest, as a real role refuses kinds not its own.
    actor SaveOnly: RoleHandler {
        var saved: [SaveTarget] = []
        func handle(_ request: RoleRequest) async -> Result<RoleReply, RoleError> {
            guard case .save(let target) = request else { return .failure(RoleError(.badInput, "not mine: \(request.kind)")) }
            saved.append(target)
            return .success(.done)
        }
    }

    func testHostileRequests_areRefusedCountedAndTheRoleGoesOn() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("roleserver-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try MessagingNode()
        let server = try await node.server(bind: "ipc://\(dir)/role.sock")
        let handler = SaveOnly()
        let roleServer = RoleServer(role: .reward, server: server, handler: handler, logger: Logger(label: "test"))
        let serving = Task { try await roleServer.run() }
        let client = try await node.client(connect: "ipc://\(dir)/role.sock")
        let channel = MessagingRoleChannel(role: .reward, client: client, timeout: .seconds(10))

        // Well-formed messages whose payload is not a role request.
        var hostile: [Message] = [
            Message(kind: RoleMessages.roleRequest),  // no kind
            Message(kind: RoleMessages.roleRequest, metadata: ["kind": .string("format_disk")]),
            Message(kind: RoleMessages.roleRequest, metadata: ["kind": .int(3)]),
            Message(kind: RoleMessages.roleReply, metadata: ["kind": .string("save")]),  // a reply sent as a request
            Message(kind: RoleMessages.roleRequest, metadata: ["kind": .string("save"), "integers": .object(["x": .string("y")])]),
            // A save or restore never carries a path: the wire format before paths were removed.
            Message(kind: RoleMessages.roleRequest, metadata: ["kind": .string("save"), "strings": .object(["directory": .string(dir)])]),
            Message(kind: RoleMessages.roleRequest, metadata: [
                "kind": .string("save"), "strings": .object(["target": .string("checkpoint"), "directory": .string(dir)]),
                "integers": .object(["iteration": .int(2)])]),
            Message(kind: RoleMessages.roleRequest, metadata: ["kind": .string("restore"), "strings": .object(["directory": .string(dir)])]),
            Message(kind: RoleMessages.roleRequest, metadata: ["kind": .string("save"), "strings": .object(["target": .string("/etc")])]),
        ]
        var truncated = RoleCodec.encode(.trainPolicy(RoleCodecTests.sampleBatch()))
        truncated.arrays["logprobs"] = .f32([1], shape: [1])
        hostile.append(try RoleMessages.message(truncated, kind: RoleMessages.roleRequest))
        var huge = RoleCodec.encode(.values(RoleCodecTests.sampleBatch(), version: 0))
        huge.integers["rows"] = Int(Int32.max)
        hostile.append(try RoleMessages.message(huge, kind: RoleMessages.roleRequest))
        for message in hostile {
            do {
                _ = try await client.request(message, timeout: .seconds(10))
                XCTFail("a hostile request was answered as if it were fine")
            } catch let error as MessagingError {
                guard case .remote(let code) = error.code else { return XCTFail("expected an error reply, got \(error)") }
                XCTAssertEqual(code, 100)
            }
        }
        XCTAssertEqual(roleServer.badRequests.count, hostile.count)

        // A request the role refuses comes back as a RoleError naming it; a good one is served.
        do {
            _ = try await channel.call(.values(RoleCodecTests.sampleBatch(), version: 0))
            XCTFail("refused kinds must fail")
        } catch let error as RoleError {
            XCTAssertTrue(error.message.contains("not mine: values"), error.message)
        }
        guard case .done = try await channel.call(.save(.checkpoint(iteration: 4))) else { return XCTFail("save not served") }
        let saved = await handler.saved
        XCTAssertEqual(saved, [.checkpoint(iteration: 4)])
        serving.cancel()
        await server.close()
        _ = await serving.result
        await node.shutdown()
    }
}
