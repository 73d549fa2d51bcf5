import Foundation
import Messaging

/// Raw ZeroMQ peers of a running run, each on its own context as another process would be:
/// one that holds a run's key and floods a role with hostile messages, and ones without a valid
/// key that only get as far as the handshake.
enum HostilePeer {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Pings `endpoint` until it answers (its role has loaded its model), calls `ready` (which
    /// may wait), then sends `messages` `window` at a time, reading the replies of each window
    /// before the next.
    /// - Returns: how many replies carried each error code.
    static func flood(_ messages: [HostileMessage], to endpoint: String, keyPair: CurveKeyPair, serverKey: CurvePublicKey,
                      runID: UInt64, window: Int = 200, ready: () -> Void) throws -> [Int64: Int] {
        let context = try ZMQContext()
        defer { try? context.terminate() }
        let socket = try ZMQSocket(context, .dealer)
        defer { socket.close() }
        try socket.makeCurveClient(keyPair: keyPair, serverKey: serverKey)
        try socket.setReceiveTimeout(milliseconds: 120_000)
        try socket.connect(endpoint)
        var ping = Message(kind: .ping)
        ping.envelope.runID = runID
        ping.envelope.sequence = 1
        try socket.send(frames: try MessageCodec.encode(ping))
        guard let pong = try socket.receiveFrames(), try MessageCodec.decode(pong[...], limits: MessageLimits()).kind == .pong else {
            throw Failure(description: "\(endpoint) did not answer a ping within 120 s")
        }
        ready()
        var codes: [Int64: Int] = [:]
        var start = 0
        while start < messages.count {
            let part = messages[start..<min(messages.count, start + window)]
            for m in part { try socket.send(m.frames) }
            for _ in part {
                guard let reply = try socket.receiveFrames() else {
                    throw Failure(description: "\(endpoint): no reply within 120 s after \(codes.values.reduce(0, +)) replies (a role died?)")
                }
                let m = try MessageCodec.decode(reply[...], limits: MessageLimits())
                codes[m.kind == .error ? try m.int("code") : -Int64(m.kind.rawValue), default: 0] += 1
            }
            start += part.count
        }
        return codes
    }

    /// How a keyless peer fails.
    enum Keyless: CaseIterable {
        /// No CURVE at all.
        case noKey
        /// A key pair of its own: the server's ZAP handler refuses it.
        case strangerKey
        /// The run's client key, but a server key that is not the server's.
        case wrongServerKey
    }

    /// `count` peers of kind `kind` dial `endpoint` once each (reconnecting never) and send a
    /// message; returns once every one has seen its handshake fail (its own socket monitor).
    static func knock(_ endpoint: String, kind: Keyless, count: Int, runKeyPair: CurveKeyPair, serverKey: CurvePublicKey) throws {
        let context = try ZMQContext()
        defer { try? context.terminate() }
        var sockets: [ZMQSocket] = []
        defer { for s in sockets { s.close() } }
        var events: [ZMQSocket] = []
        for i in 0..<count {
            let socket = try ZMQSocket(context, .dealer)
            sockets.append(socket)
            try socket.setReconnectInterval(milliseconds: -1)
            switch kind {
            case .noKey: break
            case .strangerKey: try socket.makeCurveClient(keyPair: try CurveKeyPair.generate(), serverKey: serverKey)
            case .wrongServerKey: try socket.makeCurveClient(keyPair: runKeyPair, serverKey: try CurveKeyPair.generate().publicKey)
            }
            let monitor = "inproc://knock-\(i)"
            try socket.monitor(at: monitor, events: [.handshakeFailed, .handshakeSucceeded, .disconnected])
            let pair = try ZMQSocket(context, .pair)
            sockets.append(pair)
            try pair.setReceiveTimeout(milliseconds: 30_000)
            try pair.connect(monitor)
            events.append(pair)
            try socket.connect(endpoint)
            try socket.send(frames: [FrameBytes([1, 2, 3])], dontWait: true)
        }
        for (i, pair) in events.enumerated() {
            guard let frames = try pair.receiveFrames(), let event = ZMQMonitorEvent(frames: frames) else {
                throw Failure(description: "\(kind) peer \(i) at \(endpoint): no handshake outcome within 30 s")
            }
            if event.kind == .handshakeSucceeded { throw Failure(description: "\(kind) peer \(i) at \(endpoint) completed its handshake") }
        }
    }
}
