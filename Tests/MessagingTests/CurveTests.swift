import CZeroMQ
import Foundation
import Messaging
import Synchronization
import TestSupport
import XCTest

/// CURVE on tcp: a server of a node with keys accepts clients with the run's keys, and refuses
/// (counts, reports once per address) a raw peer without a key, with a key that is not the
/// run's, or with the wrong server key, and goes on serving.
final class CurveTests: XCTestCase {
    /// Refusals reported by a node, in order.
    private final class Reports: Sendable {
        let list = Mutex<[PeerRefusal]>([])
        func add(_ r: PeerRefusal) { list.withLock { $0.append(r) } }
        var all: [PeerRefusal] { list.withLock { $0 } }
    }

    /// A raw DEALER on its own context (another process, as far as the server can tell) that
    /// dials once and never again, so each peer is one handshake.
    private func rawPeer(_ context: ZMQContext, to endpoint: String, keyPair: CurveKeyPair?, serverKey: CurvePublicKey?) throws -> ZMQSocket {
        let socket = try ZMQSocket(context, .dealer)
        try socket.setReconnectInterval(milliseconds: -1)
        if let keyPair, let serverKey { try socket.makeCurveClient(keyPair: keyPair, serverKey: serverKey) }
        try socket.connect(endpoint)
        var m = Message(kind: TestEndpoints.echo)
        m.envelope.sequence = 1
        try socket.send(frames: try MessageCodec.encode(m), dontWait: true)
        return socket
    }

    func testCurveServer_acceptsTheRunsKeys_refusesCountsAndReportsOthers_andGoesOn() async throws {
        let serverPair = try CurveKeyPair.generate(), clientPair = try CurveKeyPair.generate()
        let reports = Reports()
        let serverNode = try MessagingNode(.init(runID: 9, curve: CurveSecurity(keyPair: serverPair, authorizedClientKeys: [clientPair.publicKey],
                                                                                serverKeys: [:])),
                                           onRefusedPeer: { reports.add($0) })
        let server = try await serverNode.server(bind: "tcp://127.0.0.1:*")
        let service = TestEndpoints.serve(server)
        let clientNode = try MessagingNode(.init(runID: 9, curve: CurveSecurity(keyPair: clientPair, authorizedClientKeys: [],
                                                                                serverKeys: [server.endpoint: serverPair.publicKey])))
        let client = try await clientNode.client(connect: server.endpoint)
        let echo = try await client.request(Message(kind: TestEndpoints.echo, tensors: [try TensorFrame(name: "t", floats: [1, 2])]), timeout: .seconds(10))
        XCTAssertEqual(try echo.tensor("t").floats(), [1, 2])

        let context = try ZMQContext()
        let stranger = try CurveKeyPair.generate()
        var peers: [ZMQSocket] = []
        // No key at all: the handshake fails before any key is read.
        peers.append(try rawPeer(context, to: server.endpoint, keyPair: nil, serverKey: nil))
        try await waitUntil("the keyless peer counted", timeout: .seconds(10)) { server.statistics.failedHandshakes == 1 }
        // A key that is not the run's, twice from the same address: counted twice, reported once.
        peers.append(try rawPeer(context, to: server.endpoint, keyPair: stranger, serverKey: serverPair.publicKey))
        try await waitUntil("the stranger refused", timeout: .seconds(10)) { server.statistics.unauthorizedKeys == 1 }
        peers.append(try rawPeer(context, to: server.endpoint, keyPair: try CurveKeyPair.generate(), serverKey: serverPair.publicKey))
        try await waitUntil("the second stranger refused", timeout: .seconds(10)) { server.statistics.unauthorizedKeys == 2 }
        // The run's client key with a server key that is not this server's: the server cannot
        // open its hello.
        peers.append(try rawPeer(context, to: server.endpoint, keyPair: clientPair, serverKey: stranger.publicKey))
        try await waitUntil("the wrong server key counted", timeout: .seconds(10)) { server.statistics.failedHandshakes == 2 }

        // Still serving the run's client; nothing of the refused peers reached the handler.
        _ = try await client.request(Message(kind: TestEndpoints.echo), timeout: .seconds(10))
        let s = server.statistics
        XCTAssertEqual(s.received, 2, "\(s)")
        XCTAssertEqual(s.refusedHandshakes, 4, "\(s)")
        XCTAssertEqual(serverNode.statistics.unauthorizedKeys, 2)
        for peer in peers {
            try peer.setReceiveTimeout(milliseconds: 50)
            XCTAssertNil(try peer.receive(), "a refused peer got an answer")
        }

        let all = reports.all
        XCTAssertEqual(all.count, 2, "one report per address for unknown keys, one per server for failed handshakes: \(all)")
        XCTAssertTrue(all.contains { $0.address == "127.0.0.1" && $0.reason == .unknownKey(stranger.publicKey) && $0.endpoint == server.endpoint }, "\(all)")
        XCTAssertTrue(all.contains { if case .failedHandshake = $0.reason { return $0.endpoint == server.endpoint } else { return false } }, "\(all)")
        XCTAssertTrue(all[0].description.contains(server.endpoint), all[0].description)
        for secret in [serverPair.secretKey.z85Secret, clientPair.secretKey.z85Secret, stranger.secretKey.z85Secret] {
            XCTAssertFalse(all.map(\.description).joined().contains(secret), "a secret key in a report")
        }

        for peer in peers { peer.close() }
        try context.terminate()
        await clientNode.shutdown()
        await serverNode.shutdown()
        await service.value
    }

    /// A tcp client of a node with keys needs the server's key: connecting without it fails
    /// at once, naming the endpoint, rather than talking in clear or hanging in a handshake.
    func testClient_withNoServerKeyForTheEndpoint_isRefused() async throws {
        let node = try MessagingNode(.init(curve: CurveSecurity(keyPair: try CurveKeyPair.generate(), authorizedClientKeys: [], serverKeys: [:])))
        do {
            _ = try await node.client(connect: "tcp://127.0.0.1:5")
            XCTFail("connected without a server key")
        } catch let error as MessagingError {
            XCTAssertEqual(error.code, .badKey)
            XCTAssertTrue(error.detail.contains("tcp://127.0.0.1:5"), error.detail)
        }
        // ipc and inproc need no key.
        _ = try await node.client(connect: "inproc://no-key-needed")
        await node.shutdown()
    }

    /// A secret key never prints: not in a description, a debug description, `dump`, nor in any
    /// value that holds it.
    func testSecretKey_neverAppearsInDescriptionsOrDumps() throws {
        let pair = try CurveKeyPair.generate()
        let configuration = MessagingNode.Configuration(curve: CurveSecurity(keyPair: pair, authorizedClientKeys: [pair.publicKey], serverKeys: [:]))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(pair.secretKey)", String(reflecting: pair.secretKey), "\(pair)", String(reflecting: pair), "\(configuration)", dumped] {
            XCTAssertFalse(text.contains(pair.secretKey.z85Secret), text)
        }
        XCTAssertTrue("\(pair)".contains(pair.publicKey.z85), "the public key may show")
        XCTAssertEqual(try CurveKeyPair(secretKey: pair.secretKey), pair, "the public key derives from the secret")
        XCTAssertNil(CurveSecretKey(z85Secret: String(pair.secretKey.z85Secret.dropLast())))
        XCTAssertNil(CurvePublicKey(z85: String(repeating: " ", count: 40)), "not Z85")
    }

    func testZAPRequest_acceptsTheRunsKeysAtOurServers_andLeavesOtherSocketsAlone() throws {
        let known = try CurveKeyPair.generate().publicKey, other = try CurveKeyPair.generate().publicKey
        func request(domain: String, key: CurvePublicKey?, mechanism: String = "CURVE") -> ZAPRequest {
            var raw = [UInt8](repeating: 0, count: 32)
            if let key { raw = Self.binary(key) }
            return ZAPRequest(requestID: [7], domain: domain, address: "10.0.0.9", mechanism: mechanism, credentials: key == nil ? [] : [raw])
        }
        let ours = ZAPRequest.domain(serverID: 3)
        XCTAssertEqual(request(domain: ours, key: known).decide(authorized: [known]), .accept)
        XCTAssertEqual(request(domain: ours, key: other).decide(authorized: [known]), .refuse(server: 3, key: other))
        XCTAssertEqual(request(domain: ours, key: nil, mechanism: "NULL").decide(authorized: [known]), .refuse(server: 3, key: nil))
        XCTAssertEqual(request(domain: "", key: nil, mechanism: "NULL").decide(authorized: [known]), .accept, "not a CURVE server of ours")
        let reply = request(domain: ours, key: other).reply(.refuse(server: 3, key: other))
        XCTAssertEqual(reply.map { String(decoding: $0, as: UTF8.self) }.prefix(3), ["1.0", "\u{7}", "400"])
        let frames: [[UInt8]] = [Array("1.0".utf8), [1], Array(ours.utf8), Array("127.0.0.1".utf8), [], Array("CURVE".utf8), Self.binary(known)]
        XCTAssertEqual(ZAPRequest(frames: frames)?.curveKey, known)
        XCTAssertNil(ZAPRequest(frames: [Array("2.0".utf8)] + frames.dropFirst()), "another ZAP version")
    }

    /// The 32 bytes of a public key (what a ZAP request carries).
    private static func binary(_ key: CurvePublicKey) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = zmq_z85_decode(&out, key.z85)
        return out
    }
}
