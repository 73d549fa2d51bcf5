import CZeroMQ
import Foundation
import Messaging
import XCTest

/// A raw ZeroMQ peer on its own context (as another process would be) sends a server hostile
/// frames over tcp: each is answered with an error reply or dropped, and counted; the server keeps
/// serving well-formed requests.
final class HostileTrafficTests: XCTestCase {
    func testHostileFrames_areAnsweredCountedAndNeverCrash() async throws {
        let limits = MessageLimits(maxMessageBytes: 1 << 20, maxMetadataBytes: 4096, maxTensors: 8)
        let node = try MessagingNode(.init(runID: 77, sender: 1, limits: limits))
        let server = try await node.server(bind: "tcp://127.0.0.1:*")
        let service = TestEndpoints.serve(server)

        let context = try ZMQContext()
        let raw = try ZMQSocket(context, .dealer)
        try raw.setReceiveTimeout(milliseconds: 10_000)
        try raw.connect(server.endpoint)

        func good(_ runID: UInt64 = 77) throws -> [[UInt8]] {
            var m = Message(kind: TestEndpoints.echo, tensors: [try TensorFrame(name: "t", floats: [1, 2])])
            m.envelope.runID = runID
            m.envelope.sequence = 5
            return try MessageCodec.encode(m).map(\.array)
        }
        func header(_ edit: (inout Envelope) -> Void) throws -> [UInt8] {
            var f = try good()
            var e = try f[0].withUnsafeBytes { try Envelope.decode($0) }
            edit(&e)
            f[0] = e.encoded().array
            return f[0]
        }
        var rng = SystemRandomNumberGenerator()
        let g = try good()
        let overflowJSON = Array(#"{"metadata":{},"tensors":[{"name":"t","dtype":"f32","shape":[9223372036854775807,2]}]}"#.utf8)
        let hostile: [(String, [[UInt8]], Int64)] = [
            ("random bytes", [(0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) }], WireErrorCode.malformed),
            ("an empty frame", [[]], WireErrorCode.malformed),
            ("three empty frames", [[], [], []], WireErrorCode.malformed),
            ("a truncated header", [Array(g[0].prefix(30)), g[1], g[2]], WireErrorCode.malformed),
            ("wrong magic", [[0x47, 0x45, 0x54, 0x20] + g[0].dropFirst(4), g[1], g[2]], WireErrorCode.malformed),
            ("an unknown version", [Array(g[0].prefix(4)) + [2, 0] + g[0].dropFirst(6), g[1], g[2]], WireErrorCode.unknownVersion),
            ("more tensors claimed than frames", [try header { $0.tensorCount = 1000 }, g[1], g[2]], WireErrorCode.malformed),
            ("a shape that overflows Int", [try header { $0.metadataByteCount = UInt32(overflowJSON.count) }, overflowJSON, g[2]], WireErrorCode.malformed),
            ("a huge declared metadata size", [try header { $0.metadataByteCount = .max }, g[1], g[2]], WireErrorCode.malformed),
            ("too many bytes", [g[0], g[1], [UInt8](repeating: 0, count: 600_000), [UInt8](repeating: 0, count: 600_000)], WireErrorCode.oversized),
            ("another run", try good(78), WireErrorCode.wrongRun),
        ]
        for (what, frames, code) in hostile {
            try raw.send(frames)
            let reply = try XCTUnwrap(try raw.receive(), "no error reply to \(what)")
            let m = try MessageCodec.decode(reply.map { FrameBytes($0) }[...], limits: MessageLimits())
            XCTAssertEqual(m.kind, .error, what)
            XCTAssertEqual(try m.int("code"), code, "\(what): \(m.metadata)")
            XCTAssertFalse(try m.string("text").isEmpty, what)
        }
        // Still serving: a well-formed request from the raw peer gets its echo.
        try raw.send(try good())
        let echo = try MessageCodec.decode(try XCTUnwrap(try raw.receive()).map { FrameBytes($0) }[...], limits: MessageLimits())
        XCTAssertEqual(echo.kind, TestEndpoints.echo)
        XCTAssertEqual(echo.envelope.sequence, 5)
        XCTAssertEqual(try echo.tensor("t").floats(), [1, 2])

        let s = server.statistics
        XCTAssertEqual(s.malformed, 8, "\(s)")
        XCTAssertEqual(s.unknownVersion, 1, "\(s)")
        XCTAssertEqual(s.oversized, 1, "\(s)")
        XCTAssertEqual(s.wrongRun, 1, "\(s)")
        XCTAssertEqual(s.errorRepliesSent, 11, "\(s)")
        XCTAssertEqual(s.received, 1, "\(s)")
        XCTAssertEqual(node.statistics.refused, 11)

        // A single frame over ZMQ_MAXMSGSIZE: libzmq drops the connection before allocating it;
        // the server lives on and a new connection is served.
        let big = try ZMQSocket(context, .dealer)
        try big.connect(server.endpoint)
        try big.send([g[0], g[1], [UInt8](repeating: 1, count: (1 << 20) + 1)])
        let client = try await node.client(connect: server.endpoint)
        _ = try await client.request(Message(kind: TestEndpoints.echo), timeout: .seconds(10))

        raw.close()
        big.close()
        try context.terminate()
        await node.shutdown()
        await service.value
    }

    /// A client drops replies that are not replies (hostile or garbled traffic from its server).
    func testClient_dropsAndCountsMalformedReplies() async throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.bind("tcp://127.0.0.1:*")
        try router.setReceiveTimeout(milliseconds: 10_000)
        let node = try MessagingNode()
        let client = try await node.client(connect: try router.boundEndpoint())
        let waiting = Task { try await client.request(Message(kind: TestEndpoints.echo), timeout: .seconds(10)) }
        let request = try XCTUnwrap(try router.receive())
        let identity = request[0]
        try router.send([identity, [1, 2, 3]])
        try router.send([identity, Array(request[1].prefix(10))])
        try router.send([identity] + Array(request[1...]))  // finally a proper reply (the echo)
        let reply = try await waiting.value
        XCTAssertEqual(reply.kind, TestEndpoints.echo)
        XCTAssertEqual(client.statistics.malformed, 2)
        await node.shutdown()
        router.close()
        try context.terminate()
    }
}
