import Foundation
import Messaging
import XCTest

/// Request/reply through a real node over each transport, on the one code path.
final class RequestReplyTests: XCTestCase {
    func roundTrip(transport: String) async throws {
        let serverNode = try MessagingNode(.init(runID: 9, sender: 1))
        let clientNode = transport == "inproc" ? serverNode : try MessagingNode(.init(runID: 9, sender: 2))
        let address = try TestEndpoints.bindAddress(transport)
        defer { TestEndpoints.cleanUp(address) }
        let server = try await serverNode.server(bind: address)
        let service = TestEndpoints.serve(server)
        let client = try await clientNode.client(connect: server.endpoint)
        let floats = (0..<1000).map { Float($0) * 0.25 - 3 }
        let request = Message(kind: TestEndpoints.echo, policyVersion: 4, metadata: ["batch": 3],
                              tensors: [try TensorFrame(name: "x", shape: [10, 100], floats: floats)])
        for _ in 0..<3 {
            let reply = try await client.request(request, timeout: .seconds(10))
            XCTAssertEqual(reply.kind, TestEndpoints.echo)
            XCTAssertEqual(reply.envelope.sender, 1, "the server stamps its own sender id")
            XCTAssertEqual(reply.envelope.runID, 9)
            XCTAssertEqual(reply.envelope.policyVersion, 4)
            XCTAssertEqual(try reply.int("batch"), 3)
            XCTAssertEqual(try reply.tensor("x").floats(), floats)
        }
        // Several requests in flight at once are matched by sequence.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    let r = try await client.request(Message(kind: TestEndpoints.echo, metadata: ["i": .int(Int64(i))]), timeout: .seconds(10))
                    XCTAssertEqual(try r.int("i"), Int64(i))
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(client.statistics.received, 23)
        XCTAssertEqual(server.statistics.received, 23)
        XCTAssertEqual(server.statistics.refused, 0)
        await clientNode.shutdown()
        await serverNode.shutdown()
        await service.value  // the server's stream ended with its node
    }

    func testRequestReply_inproc() async throws { try await roundTrip(transport: "inproc") }
    func testRequestReply_ipc() async throws { try await roundTrip(transport: "ipc") }
    func testRequestReply_tcp() async throws { try await roundTrip(transport: "tcp") }

    func testLostReply_timesOutAndTheLateOneIsCounted() async throws {
        let node = try MessagingNode()
        let server = try await node.server(bind: "tcp://127.0.0.1:*")
        let client = try await node.client(connect: server.endpoint)
        // Hold the request, answer only after the client gave up on it.
        let held = Task.detached { () -> Void in
            for await r in server.requests {
                try? await Task.sleep(for: .milliseconds(300))
                try? r.reply(Message(kind: TestEndpoints.echo))
                return
            }
        }
        let start = ContinuousClock.now
        do {
            _ = try await client.request(Message(kind: TestEndpoints.silent), timeout: .milliseconds(100))
            XCTFail("a request without reply returned")
        } catch let e as MessagingError {
            XCTAssertEqual(e.code, .timeout)
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
        await held.value
        // The client is not wedged, and the late reply is dropped and counted.
        let echo = TestEndpoints.serve(server)
        _ = try await client.request(Message(kind: TestEndpoints.echo), timeout: .seconds(10))
        XCTAssertEqual(client.statistics.timeouts, 1)
        XCTAssertEqual(client.statistics.lateReplies, 1)
        XCTAssertEqual(node.statistics.timeouts, 1)
        await node.shutdown()
        await echo.value
    }

    func testServerGone_requestTimesOutInsteadOfHanging() async throws {
        let node = try MessagingNode()
        let client = try await node.client(connect: "tcp://127.0.0.1:1")  // nothing listens there
        do {
            _ = try await client.request(Message(kind: TestEndpoints.echo), timeout: .milliseconds(50))
            XCTFail("returned without a server")
        } catch let e as MessagingError {
            XCTAssertEqual(e.code, .timeout)
        }
        await node.shutdown()
    }

    func testErrorReply_throwsTheRemoteCodeAndText() async throws {
        let node = try MessagingNode()
        let server = try await node.server(bind: "inproc://error-reply")
        let service = TestEndpoints.serve(server)
        let client = try await node.client(connect: server.endpoint)
        do {
            _ = try await client.request(Message(kind: TestEndpoints.fail), timeout: .seconds(10))
            XCTFail("an error reply returned normally")
        } catch let e as MessagingError {
            XCTAssertEqual(e.code, .remote(123))
            XCTAssertEqual(e.detail, "refused on purpose")
        }
        await node.shutdown()
        await service.value
    }

    func testOneWaySend_reachesTheServerAndItsReplyIsDropped() async throws {
        let node = try MessagingNode()
        let server = try await node.server(bind: "inproc://one-way")
        let client = try await node.client(connect: server.endpoint)
        try await client.send(Message(kind: TestEndpoints.echo, metadata: ["n": 1]))
        var it = server.requests.makeAsyncIterator()
        let next = await it.next()
        let got = try XCTUnwrap(next)
        XCTAssertFalse(got.expectsReply)
        XCTAssertEqual(try got.message.int("n"), 1)
        try got.reply(Message(kind: TestEndpoints.echo))  // dropped: nothing to match
        _ = try await client.ping(timeout: .seconds(10))
        XCTAssertEqual(client.statistics.lateReplies, 0)
        await node.shutdown()
    }

    func testShutdown_failsWaitingRequestsAndEndsStreams() async throws {
        let node = try MessagingNode()
        let server = try await node.server(bind: "inproc://shutdown")
        let client = try await node.client(connect: server.endpoint)
        let waiting = Task { try await client.request(Message(kind: TestEndpoints.silent), timeout: .seconds(600)) }
        var it = server.requests.makeAsyncIterator()
        _ = await it.next()  // the request arrived: the client is waiting for its reply
        await node.shutdown()
        do {
            _ = try await waiting.value
            XCTFail("a request survived shutdown")
        } catch let e as MessagingError {
            XCTAssertEqual(e.code, .closed)
        }
        let end = await it.next()
        XCTAssertNil(end)
        do {
            _ = try await client.request(Message(kind: TestEndpoints.echo), timeout: .seconds(1))
            XCTFail("a request after shutdown returned")
        } catch let e as MessagingError {
            XCTAssertEqual(e.code, .closed)
        }
    }

    func testCancellation_endsAWaitingRequest() async throws {
        let node = try MessagingNode()
        let server = try await node.server(bind: "inproc://cancel")
        let client = try await node.client(connect: server.endpoint)
        let waiting = Task { try await client.request(Message(kind: TestEndpoints.silent), timeout: .seconds(600)) }
        var it = server.requests.makeAsyncIterator()
        _ = await it.next()
        waiting.cancel()
        do {
            _ = try await waiting.value
            XCTFail("a cancelled request returned")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        await node.shutdown()
    }
}
