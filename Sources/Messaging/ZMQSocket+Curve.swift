import CZeroMQ

// MARK: - CURVE, ZAP and the socket monitor

extension ZMQSocket {
    /// CURVE server mode with `secretKey`: every peer must complete a CURVE handshake, which
    /// libzmq hands to the context's ZAP handler (if one is bound) to accept or refuse its key.
    /// Set before `bind`.
    public func makeCurveServer(secretKey: CurveSecretKey) throws {
        try setOption(ZMQ_CURVE_SERVER, 1, name: "ZMQ_CURVE_SERVER")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.z85Secret.utf8), name: "ZMQ_CURVE_SECRETKEY")
    }

    /// CURVE client mode: this side's key pair and the public key of the server it connects to
    /// (a server with another key cannot complete the handshake). Set before `connect`.
    public func makeCurveClient(keyPair: CurveKeyPair, serverKey: CurvePublicKey) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.z85.utf8), name: "ZMQ_CURVE_SERVERKEY")
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keyPair.publicKey.z85.utf8), name: "ZMQ_CURVE_PUBLICKEY")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keyPair.secretKey.z85Secret.utf8), name: "ZMQ_CURVE_SECRETKEY")
    }

    /// The domain this socket's handshakes carry to the ZAP handler (which names the socket).
    public func setZAPDomain(_ domain: String) throws {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8), name: "ZMQ_ZAP_DOMAIN")
    }

    /// Milliseconds before a lost or refused connection is dialled again; -1: never again.
    public func setReconnectInterval(milliseconds: Int32) throws {
        try setOption(ZMQ_RECONNECT_IVL, milliseconds, name: "ZMQ_RECONNECT_IVL")
    }

    /// Publishes `events` of this socket on a PAIR socket libzmq binds at `endpoint` (inproc);
    /// read them with a PAIR connected there and `ZMQMonitorEvent.init(frames:)`.
    public func monitor(at endpoint: String, events: ZMQMonitorEvent.Kinds) throws {
        try ZMQError.check(zmq_socket_monitor(try open("zmq_socket_monitor"), endpoint, Int32(events.rawValue)),
                           "zmq_socket_monitor(\(endpoint))")
    }
}

/// One event of libzmq's socket monitor: two frames, 6 bytes (event UInt16, value UInt32,
/// native byte order) and the endpoint.
public struct ZMQMonitorEvent: Sendable, Equatable {
    /// Events to monitor (libzmq's `ZMQ_EVENT_*` bits).
    public struct Kinds: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let connected = Kinds(rawValue: UInt32(ZMQ_EVENT_CONNECTED))
        public static let accepted = Kinds(rawValue: UInt32(ZMQ_EVENT_ACCEPTED))
        public static let closed = Kinds(rawValue: UInt32(ZMQ_EVENT_CLOSED))
        public static let disconnected = Kinds(rawValue: UInt32(ZMQ_EVENT_DISCONNECTED))
        /// The handshake broke off with no reason given (the peer hung up, bytes that are not ZMTP).
        public static let handshakeFailedNoDetail = Kinds(rawValue: UInt32(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
        public static let handshakeSucceeded = Kinds(rawValue: UInt32(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
        /// The peer broke the protocol: another mechanism, a message the wrong key cannot open.
        public static let handshakeFailedProtocol = Kinds(rawValue: UInt32(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
        /// The ZAP handler refused the peer (value: its status code, 400).
        public static let handshakeFailedAuth = Kinds(rawValue: UInt32(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
        /// Every handshake failure.
        public static let handshakeFailed: Kinds = [.handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth]
    }

    public let kind: Kinds
    /// The event's value: an errno, a protocol error code or a ZAP status.
    public let value: UInt32
    public let endpoint: String

    /// Nil unless `frames` is the two frames of one event.
    public init?(frames: [FrameBytes]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        let (event, value) = frames[0].withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self), raw.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        }
        kind = Kinds(rawValue: UInt32(event))
        self.value = value
        endpoint = String(decoding: frames[1].array, as: UTF8.self)
    }
}
