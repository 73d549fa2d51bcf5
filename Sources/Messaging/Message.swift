/// A message: its envelope (frame 0), JSON metadata (frame 1) and tensors (one frame each).
public struct Message: Sendable {
    public var envelope: Envelope
    public var metadata: [String: MetadataValue]
    public var tensors: [TensorFrame]

    public init(envelope: Envelope, metadata: [String: MetadataValue] = [:], tensors: [TensorFrame] = []) {
        self.envelope = envelope
        self.metadata = metadata
        self.tensors = tensors
    }

    /// A message of `kind`; run id, sender and sequence are stamped when it is sent.
    public init(kind: MessageKind, policyVersion: UInt64 = 0, metadata: [String: MetadataValue] = [:], tensors: [TensorFrame] = []) {
        self.init(envelope: Envelope(kind: kind, policyVersion: policyVersion), metadata: metadata, tensors: tensors)
    }

    public var kind: MessageKind { envelope.kind }

    // MARK: - Reading fields that came from another process (thrown errors name the field)

    /// The tensor called `name`.
    public func tensor(_ name: String) throws -> TensorFrame {
        guard let t = tensors.first(where: { $0.name == name }) else {
            throw MessagingError(.malformed, "\(kind) message has no tensor '\(name)' (has \(tensors.map(\.name)))")
        }
        return t
    }

    public func int(_ key: String) throws -> Int64 { try field(key, "an integer", \.intValue) }
    public func double(_ key: String) throws -> Double { try field(key, "a number", \.doubleValue) }
    public func string(_ key: String) throws -> String { try field(key, "a string", \.stringValue) }
    public func bool(_ key: String) throws -> Bool { try field(key, "a boolean", \.boolValue) }

    private func field<T>(_ key: String, _ what: String, _ get: (MetadataValue) -> T?) throws -> T {
        guard let v = metadata[key] else { throw MessagingError(.malformed, "\(kind) message has no metadata field '\(key)'") }
        guard let t = get(v) else { throw MessagingError(.malformed, "\(kind) message: metadata field '\(key)' is \(v), expected \(what)") }
        return t
    }

    // MARK: - Error replies

    /// An error reply to the request with `sequence`.
    static func errorReply(code: Int64, text: String, sequence: UInt64) -> Message {
        var m = Message(kind: .error, metadata: ["code": .int(code), "text": .string(text)])
        m.envelope.sequence = sequence
        return m
    }

    /// The error an `.error` reply reports (nil for other kinds).
    var remoteError: MessagingError? {
        guard kind == .error else { return nil }
        let code = metadata["code"]?.intValue ?? WireErrorCode.internalError
        return MessagingError(.remote(code), metadata["text"]?.stringValue ?? "(an error reply without text)")
    }
}
