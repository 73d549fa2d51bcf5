/// A peer refused at the door of a CURVE server: reported through the node's `onRefusedPeer`
/// once per peer address (a ZAP refusal) or once per server (a failed handshake, which libzmq
/// reports without the peer's address); every one is counted in the server's statistics.
public struct PeerRefusal: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// A CURVE client whose public key is not one of the run's (nil: no key could be read).
        case unknownKey(CurvePublicKey?)
        /// A handshake that broke off before a key could be checked: no CURVE, the wrong server
        /// key, not ZMTP. The detail is libzmq's event and value.
        case failedHandshake(String)
    }

    /// The server's bound endpoint.
    public let endpoint: String
    /// The peer's IP address; nil when libzmq does not give it (failed handshakes).
    public let address: String?
    public let reason: Reason

    public init(endpoint: String, address: String?, reason: Reason) {
        self.endpoint = endpoint
        self.address = address
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unknownKey(let key):
            let who = key.map { "CURVE public key \($0)" } ?? "CURVE handshake without a readable key"
            return "\(endpoint): refused a peer at \(address ?? "an unknown address"): its \(who) is not one of the run's "
                + "(counted as unauthorizedKeys; later refusals from this address are counted, not logged)"
        case .failedHandshake(let detail):
            return "\(endpoint): a peer failed the CURVE handshake (\(detail)): no key, the wrong server key, or not ZeroMQ "
                + "(counted as failedHandshakes; later failures at this endpoint are counted, not logged)"
        }
    }
}
