/// What a message is, byte 6 of its header. Values 0-15 belong to Messaging (the ones below);
/// 16-255 belong to the layers above (Roles defines its own, e.g. `MessageKind(rawValue: 16)`).
public struct MessageKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A reply that reports a failure: metadata `code` (Int) and `text` (String).
    public static let error = MessageKind(rawValue: 1)
    /// A liveness probe; a server answers it itself with `pong`, never showing it to its handler.
    public static let ping = MessageKind(rawValue: 2)
    /// The answer to a `ping`, carrying the ping's sequence number.
    public static let pong = MessageKind(rawValue: 3)

    /// The first kind value free for the layers above.
    public static let firstApplicationKind: UInt8 = 16

    /// Whether Messaging knows this kind (a system kind it defines, or any application kind).
    public var isKnown: Bool { rawValue >= Self.firstApplicationKind || (1...3).contains(rawValue) }

    public var description: String {
        switch self {
        case .error: return "error"
        case .ping: return "ping"
        case .pong: return "pong"
        default: return "kind \(rawValue)"
        }
    }
}
