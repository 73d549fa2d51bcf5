/// One request of libzmq's ZAP protocol (ZeroMQ RFC 27), as the context's ZAP handler receives
/// it on its REP socket, and the reply it sends back. Pure, so tests drive it without sockets.
///
/// Frames: version `1.0`, request id, domain, the peer's address, its routing id, mechanism,
/// then the mechanism's credentials (for CURVE, the client's 32-byte public key).
public struct ZAPRequest: Equatable, Sendable {
    public var requestID: [UInt8]
    public var domain: String
    /// The peer's IP address (no port), as libzmq gives it.
    public var address: String
    public var mechanism: String
    public var credentials: [[UInt8]]

    /// The domain a CURVE server of this node carries to the handler, which names the server.
    public static func domain(serverID: Int) -> String { "rlhf-server-\(serverID)" }

    /// The server `domain` names, nil for a domain this node did not set (a socket without CURVE).
    public static func serverID(domain: String) -> Int? {
        guard domain.hasPrefix("rlhf-server-") else { return nil }
        return Int(domain.dropFirst("rlhf-server-".count))
    }

    /// Nil for frames that are not a ZAP 1.0 request (libzmq sends none such; checked anyway).
    public init?(frames: [[UInt8]]) {
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else { return nil }
        requestID = frames[1]
        domain = String(decoding: frames[2], as: UTF8.self)
        address = String(decoding: frames[3], as: UTF8.self)
        mechanism = String(decoding: frames[5], as: UTF8.self)
        credentials = Array(frames.dropFirst(6))
    }

    public init(requestID: [UInt8], domain: String, address: String, mechanism: String, credentials: [[UInt8]]) {
        self.requestID = requestID
        self.domain = domain
        self.address = address
        self.mechanism = mechanism
        self.credentials = credentials
    }

    /// The client's CURVE public key, when this is a CURVE handshake.
    public var curveKey: CurvePublicKey? {
        guard mechanism == "CURVE", credentials.count == 1 else { return nil }
        return CurvePublicKey(binary: credentials[0])
    }

    /// What the handler answers.
    public enum Decision: Equatable, Sendable {
        /// 200: a socket without CURVE (not ours to judge), or a CURVE client whose key is known.
        case accept
        /// 400: a CURVE handshake at one of our servers whose key is not one of `authorized`.
        case refuse(server: Int, key: CurvePublicKey?)
    }

    /// Accepts the run's keys at this node's CURVE servers; leaves other sockets alone.
    public func decide(authorized: Set<CurvePublicKey>) -> Decision {
        guard let server = Self.serverID(domain: domain) else { return .accept }
        guard let key = curveKey, authorized.contains(key) else { return .refuse(server: server, key: curveKey) }
        return .accept
    }

    /// The reply's frames: version, request id, status code and text, user id, metadata.
    public func reply(_ decision: Decision) -> [[UInt8]] {
        let (code, text) = decision == .accept ? ("200", "OK") : ("400", "not one of the run's keys")
        return [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), [], []]
    }
}
