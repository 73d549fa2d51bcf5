import CZeroMQ
import Foundation
import Messaging
import XCTest

/// The checked raw layer: failures surface as `ZMQError` naming the call; polling several sockets.
final class RawSocketTests: XCTestCase {
    func testBindConflict_throwsZMQErrorNamingTheEndpoint() async throws {
        let node = try MessagingNode()
        let first = try await node.server(bind: "tcp://127.0.0.1:*")
        do {
            _ = try await node.server(bind: first.endpoint)
            XCTFail("bound one port twice")
        } catch let e as ZMQError {
            XCTAssertEqual(e.errno, EADDRINUSE)
            XCTAssertTrue(e.call.contains(first.endpoint), e.description)
        }
        do {
            _ = try await node.client(connect: "nonsense://x")
            XCTFail("connected to an unknown transport")
        } catch let e as ZMQError {
            XCTAssertTrue(e.call.hasPrefix("zmq_connect"), e.description)
        }
        XCTAssertNotNil(first)
        await node.shutdown()
    }

    func testPoll_reportsWhichSocketsAreReadable() throws {
        let context = try ZMQContext()
        let pulls = try (0..<3).map { i -> ZMQSocket in
            let s = try ZMQSocket(context, .pull)
            try s.bind("inproc://poll-\(i)")
            return s
        }
        let push = try ZMQSocket(context, .push)
        try push.connect("inproc://poll-1")
        XCTAssertEqual(try ZMQPoller.pollReadable(pulls, timeoutMilliseconds: 0), [false, false, false])
        try push.send([[7]])
        XCTAssertEqual(try ZMQPoller.pollReadable(pulls, timeoutMilliseconds: 5000), [false, true, false])
        XCTAssertEqual(try pulls[1].receiveFrames(dontWait: true)?.map(\.array), [[7]])
        XCTAssertNil(try pulls[1].receiveFrames(dontWait: true))
        pulls[2].close()
        XCTAssertThrowsError(try ZMQPoller.pollReadable(pulls, timeoutMilliseconds: 0))
        XCTAssertThrowsError(try pulls[2].bind("inproc://closed")) { XCTAssertEqual(($0 as? ZMQError)?.errno, ENOTSOCK) }
        for s in pulls { s.close() }
        push.close()
        try context.terminate()
    }
}
