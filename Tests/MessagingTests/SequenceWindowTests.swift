import Foundation
import Messaging
import XCTest

/// A sequence number passes once per connection: resent, it is refused as replayed (code 7),
/// counted, and the connection goes on; requests sent in another order than stamped pass.
final class SequenceWindowTests: XCTestCase {
    func testWindow_acceptsEachNumberOnce_inAnyOrderWithinTheWindow() {
        var w = SequenceWindow()
        XCTAssertTrue(w.accept(5))
        XCTAssertFalse(w.accept(5), "the same number again")
        XCTAssertTrue(w.accept(7))
        XCTAssertTrue(w.accept(6), "stamped before 7, sent after it")
        XCTAssertFalse(w.accept(6))
        XCTAssertTrue(w.accept(1))
        XCTAssertFalse(w.accept(7))
        // Far ahead: everything older than the window is refused, as it cannot be told apart.
        let far = UInt64(5 + SequenceWindow.size + 100)
        XCTAssertTrue(w.accept(far))
        XCTAssertFalse(w.accept(far - UInt64(SequenceWindow.size)), "just past the window")
        XCTAssertTrue(w.accept(far - UInt64(SequenceWindow.size) + 1), "the oldest number inside it, never seen")
        XCTAssertFalse(w.accept(7), "seen long ago, now too old")
    }

    /// Against a set of every number seen: numbers in a shuffled order with repeats, moving up by
    /// steps of every size (so the bitmap shifts by whole words and by parts of words).
    func testWindow_agreesWithASetOfSeenNumbers() {
        var rng = SystemRandomNumberGenerator()
        var w = SequenceWindow()
        var seen = Set<UInt64>(), highest: UInt64 = 0
        for step in 0..<20_000 {
            let base = UInt64(step) * UInt64.random(in: 0...3, using: &rng)
            let s = max(1, base &+ UInt64.random(in: 0...200, using: &rng)) - UInt64.random(in: 0...1, using: &rng)
            let expected = s + UInt64(SequenceWindow.size) > highest && !seen.contains(s)
            XCTAssertEqual(w.accept(s), expected, "sequence \(s) after highest \(highest) at step \(step)")
            if expected {
                seen.insert(s)
                highest = max(highest, s)
            }
        }
    }

    func testConnections_haveWindowsOfTheirOwn_boundedInNumber() {
        var c = ConnectionSequenceWindows(capacity: 2)
        XCTAssertTrue(c.accept(1, from: [1]))
        XCTAssertTrue(c.accept(1, from: [2]), "another connection may use the same number")
        XCTAssertFalse(c.accept(1, from: [1]))
        XCTAssertTrue(c.accept(2, from: [1]))
        XCTAssertTrue(c.accept(1, from: [3]), "a third connection forgets the one heard from longest ago")
        XCTAssertEqual(c.count, 2)
        XCTAssertTrue(c.accept(1, from: [2]), "forgotten: its window starts again (and connection 1, now the oldest, goes)")
        XCTAssertFalse(c.accept(1, from: [3]), "connection 3 was heard from more recently and kept its window")
    }

    /// Over tcp from a raw DEALER: a request sent twice is answered once, the second time with
    /// code 7; another connection may use the same number.
    func testServer_refusesARequestSentAgainOnItsConnection() async throws {
        let node = try MessagingNode(.init(runID: 3))
        let server = try await node.server(bind: "tcp://127.0.0.1:*")
        let service = TestEndpoints.serve(server)
        let context = try ZMQContext()
        var m = Message(kind: TestEndpoints.echo)
        m.envelope.runID = 3
        m.envelope.sequence = 40
        let frames = try MessageCodec.encode(m).map(\.array)
        for _ in 0..<2 {
            let raw = try ZMQSocket(context, .dealer)
            try raw.setReceiveTimeout(milliseconds: 10_000)
            try raw.connect(server.endpoint)
            try raw.send(frames)
            let first = try MessageCodec.decode(try XCTUnwrap(try raw.receive()).map { FrameBytes($0) }[...], limits: MessageLimits())
            XCTAssertEqual(first.kind, TestEndpoints.echo)
            try raw.send(frames)
            let second = try MessageCodec.decode(try XCTUnwrap(try raw.receive()).map { FrameBytes($0) }[...], limits: MessageLimits())
            XCTAssertEqual(second.kind, .error)
            XCTAssertEqual(try second.int("code"), WireErrorCode.replayed)
            XCTAssertEqual(second.envelope.sequence, 40)
            raw.close()
        }
        XCTAssertEqual(server.statistics.replayed, 2)
        XCTAssertEqual(server.statistics.received, 2)
        try context.terminate()
        await node.shutdown()
        await service.value
    }
}
