import Foundation
import Messaging
import XCTest

/// A client's heartbeats report its server silent when it dies and alive when it comes back.
final class HeartbeatTests: XCTestCase {
    func testHeartbeats_reportASilentServerAndItsReturn() async throws {
        let address = try TestEndpoints.bindAddress("ipc")
        defer { TestEndpoints.cleanUp(address) }
        let clientNode = try MessagingNode()
        var serverNode: MessagingNode? = try MessagingNode()
        var firstServer: MessageServer? = try await serverNode!.server(bind: address)  // kept open until its node stops
        let client = try await clientNode.client(connect: address)
        let rtt = try await client.ping(timeout: .seconds(10))
        XCTAssertLessThan(rtt, .seconds(10))
        let events = try await client.heartbeats(interval: .milliseconds(20), silenceLimit: .milliseconds(200))
        var it = events.makeAsyncIterator()

        XCTAssertNotNil(firstServer)
        await serverNode?.shutdown()
        (firstServer, serverNode) = (nil, nil)
        let silent = await it.next()
        guard case .silent(let peer, let ns)? = silent else { return XCTFail("expected .silent, got \(String(describing: silent))") }
        XCTAssertEqual(peer, address)
        XCTAssertGreaterThan(ns, 200_000_000)

        let revived = try MessagingNode()
        let server = try await revived.server(bind: address)
        let alive = await it.next()
        XCTAssertEqual(alive, .alive(peer: address))
        XCTAssertGreaterThan(server.statistics.received, 0, "the revived server answered pings")
        await clientNode.shutdown()
        let end = await it.next()
        XCTAssertNil(end, "the heartbeat stream ends with its node")
        await revived.shutdown()
    }
}
