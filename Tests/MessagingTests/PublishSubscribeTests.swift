import Foundation
import Messaging
import XCTest

final class PublishSubscribeTests: XCTestCase {
    static let weights = MessageKind(rawValue: 30)
    static let other = MessageKind(rawValue: 31)

    func testBroadcast_reachesEverySubscriberOfItsKind() async throws {
        let pubNode = try MessagingNode(.init(sender: 7))
        let subNode = try MessagingNode()
        let publisher = try await pubNode.publisher(bind: "tcp://127.0.0.1:*")
        let subs = [
            try await subNode.subscriber(connect: publisher.endpoint, kinds: [Self.weights]),
            try await subNode.subscriber(connect: publisher.endpoint, kinds: [Self.weights]),
        ]
        let everything = try await subNode.subscriber(connect: publisher.endpoint)
        // A SUB socket misses what was published before its subscription arrived: publish until
        // each subscriber has one (the versions tell them apart), as a generator catches up on
        // weights. The subscriber of every kind is waited for too: on a loaded machine its
        // subscription can arrive after the others have theirs.
        let weights = try TensorFrame(name: "w", floats: [1, 2, 3])
        let received = Task.detached { () -> [Message] in
            var got: [Message] = []
            for s in subs + [everything] {
                var it = s.messages.makeAsyncIterator()
                if let m = await it.next() { got.append(m) }
            }
            return got
        }
        // Never wait forever: a stream's next() ends when its task is cancelled.
        let deadline = Task.detached {
            try await Task.sleep(for: .seconds(60))
            received.cancel()
        }
        let (weightsKind, otherKind) = (Self.weights, Self.other)
        let publishing = Task.detached { () async throws -> UInt64 in
            var version: UInt64 = 0
            while !Task.isCancelled {
                version += 1
                try await publisher.publish(Message(kind: otherKind))
                try await publisher.publish(Message(kind: weightsKind, policyVersion: version, tensors: [weights]))
                try? await Task.sleep(for: .milliseconds(5))
            }
            return version
        }
        let got = await received.value
        deadline.cancel()
        publishing.cancel()
        let version = try await publishing.value
        XCTAssertEqual(got.count, 3, "every subscriber received within 60 s (\(version) publications)")
        for m in got.prefix(2) {
            XCTAssertEqual(m.kind, Self.weights)
            XCTAssertEqual(m.envelope.sender, 7)
            XCTAssertEqual(try m.tensor("w").floats(), [1, 2, 3])
        }
        let versions = got.prefix(2).map(\.envelope.policyVersion)
        XCTAssertTrue(versions.allSatisfy { $0 >= 1 && $0 <= version })
        if got.count == 3 { XCTAssertTrue([Self.weights, Self.other].contains(got[2].kind)) }
        await subNode.shutdown()
        await pubNode.shutdown()
    }
}
