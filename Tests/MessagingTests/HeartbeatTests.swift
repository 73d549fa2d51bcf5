import Foundation
import Messaging
import TestSupport
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
        let events = StreamRecorder(try await client.heartbeats(interval: .milliseconds(20), silenceLimit: .milliseconds(200)))
        defer { events.stop() }

        XCTAssertNotNil(firstServer)
        await serverNode?.shutdown()
        (firstServer, serverNode) = (nil, nil)
        try await waitUntil("the client to report the stopped server silent: \(events.elements)") { !events.elements.isEmpty }
        guard case .silent(let peer, let ns) = events.elements.first else { return XCTFail("expected .silent, got \(events.elements)") }
        XCTAssertEqual(peer, address)
        XCTAssertGreaterThan(ns, 200_000_000)

        let revived = try MessagingNode()
        let server = try await revived.server(bind: address)
        try await waitUntil("the client to report the revived server alive: \(events.elements)") { events.elements.count >= 2 }
        XCTAssertEqual(events.elements[1], .alive(peer: address))
        XCTAssertGreaterThan(server.statistics.received, 0, "the revived server answered pings")
        await clientNode.shutdown()
        try await waitUntil("the heartbeat stream to end with its node: \(events.elements)") { events.isFinished }
        XCTAssertEqual(events.elements.count, 2, "nothing after the revival: \(events.elements)")
        await revived.shutdown()
    }
}
