import Foundation
import Messaging
import TestSupport
import XCTest

/// Nodes start and stop cleanly: no thread, socket or file descriptor outlives them.
final class NodeLifecycleTests: XCTestCase {
    func openFileDescriptors() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
    func threads() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count }

    func testManyNodes_leakNoThreadsOrDescriptors() async throws {
        // One round first, so lazily created process-wide things (dispatch threads) exist before counting.
        try await oneRound(0)
        let fds = try openFileDescriptors()
        let tasks = try threads()
        for i in 1...60 { try await oneRound(i) }
        // A stopped node's thread ends a moment after shutdown returns: wait for the counts to
        // come back, and fail with them if they do not.
        try await waitUntil(
            "file descriptors (\((try? openFileDescriptors()) ?? -1), from \(fds)) and threads (\((try? threads()) ?? -1), from \(tasks))"
                + " to come back within 2 of their number before 60 nodes", timeout: .seconds(10)
        ) { try openFileDescriptors() <= fds + 2 && threads() <= tasks + 2 }
    }

    private func oneRound(_ i: Int) async throws {
        let node = try MessagingNode()
        let server = try await node.server(bind: "tcp://127.0.0.1:*")
        let service = TestEndpoints.serve(server)
        let client = try await node.client(connect: server.endpoint)
        let pub = try await node.publisher(bind: "inproc://lifecycle-\(i)")
        let sub = try await node.subscriber(connect: pub.endpoint)
        _ = try await client.request(Message(kind: TestEndpoints.echo), timeout: .seconds(10))
        _ = sub
        if i % 2 == 0 {
            await node.shutdown()
        } else {
            // The other half is released without an explicit shutdown: deinit joins the thread.
            await client.close()
            await server.close()
        }
        await service.value
    }
}
