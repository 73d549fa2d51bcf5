import CZeroMQ

/// A CURVE public key (Curve25519, 32 bytes) in libzmq's text form: 40 Z85 characters. Safe to
/// show: logs name a refused peer by its public key.
public struct CurvePublicKey: Hashable, Sendable, CustomStringConvertible {
    /// The 40 Z85 characters.
    public let z85: String

    /// Nil unless `text` is 40 Z85 characters that decode to a key.
    public init?(z85 text: String) {
        guard CurveKeyText.decodes(text) else { return nil }
        z85 = text
    }

    /// The key from the 32 raw bytes a ZAP request carries; nil for any other length.
    init?(binary: [UInt8]) {
        guard binary.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, binary, 32) != nil else { return nil }
        z85 = String(nulTerminated: text)
    }

    public var description: String { z85 }
}

/// A CURVE secret key. Its description, debug description and mirror never show it, so no log
/// line, error message or `dump` can print it by accident; `z85Secret` is the one way to read
/// it, for writing its own 0600 file and handing it to libzmq.
public struct CurveSecretKey: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The 40 Z85 characters. Never log them.
    public let z85Secret: String

    /// Nil unless `text` is 40 Z85 characters that decode to a key.
    public init?(z85Secret text: String) {
        guard CurveKeyText.decodes(text) else { return nil }
        z85Secret = text
    }

    public var description: String { "<CURVE secret key>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// One party's CURVE identity: its public key, which others list, and its secret key, which
/// stays with it.
public struct CurveKeyPair: Hashable, Sendable {
    public let publicKey: CurvePublicKey
    public let secretKey: CurveSecretKey

    /// A new key pair from libzmq (libsodium's random generator).
    public static func generate() throws -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41), secretText = [CChar](repeating: 0, count: 41)
        try ZMQError.check(zmq_curve_keypair(&publicText, &secretText), "zmq_curve_keypair (is libzmq built with CURVE?)")
        guard let p = CurvePublicKey(z85: String(nulTerminated: publicText)),
              let s = CurveSecretKey(z85Secret: String(nulTerminated: secretText)) else {
            throw MessagingError(.badKey, "zmq_curve_keypair gave keys that are not 40 Z85 characters")
        }
        return CurveKeyPair(publicKey: p, secretKey: s)
    }

    /// The pair of `secretKey`, its public key derived from it (so a secret file needs nothing else).
    public init(secretKey: CurveSecretKey) throws {
        var publicText = [CChar](repeating: 0, count: 41)
        try ZMQError.check(zmq_curve_public(&publicText, secretKey.z85Secret), "zmq_curve_public")
        guard let p = CurvePublicKey(z85: String(nulTerminated: publicText)) else {
            throw MessagingError(.badKey, "zmq_curve_public gave a key that is not 40 Z85 characters")
        }
        self.init(publicKey: p, secretKey: secretKey)
    }

    /// A pair as given (tests pair a secret with someone else's public key on purpose).
    public init(publicKey: CurvePublicKey, secretKey: CurveSecretKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// What a node needs to put CURVE on its tcp sockets: its own key pair (servers and clients of
/// one host share it), the public keys its servers accept, and the public key of the server
/// behind each tcp endpoint its clients connect to.
public struct CurveSecurity: Hashable, Sendable {
    /// This node's identity: a server's secret key, and a client's pair.
    public var keyPair: CurveKeyPair
    /// The client keys this node's servers accept; any other is refused by the ZAP handler.
    public var authorizedClientKeys: Set<CurvePublicKey>
    /// Endpoint (as given to `client(connect:)`) -> the public key of the server bound there.
    public var serverKeys: [String: CurvePublicKey]

    public init(keyPair: CurveKeyPair, authorizedClientKeys: Set<CurvePublicKey>, serverKeys: [String: CurvePublicKey]) {
        self.keyPair = keyPair
        self.authorizedClientKeys = authorizedClientKeys
        self.serverKeys = serverKeys
    }
}

/// Z85 key text: 40 characters that libzmq decodes to 32 bytes.
enum CurveKeyText {
    static func decodes(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 40, !utf8.contains(0) else { return false }
        var bytes = [UInt8](repeating: 0, count: 32)
        // zmq_z85_decode refuses characters outside the Z85 alphabet (and returns NULL).
        return zmq_z85_decode(&bytes, text) != nil
    }
}
