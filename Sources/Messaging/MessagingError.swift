/// A failure of Messaging: what went wrong (`code`, compared by `==`), the detail naming the field
/// or the call, and where in this code it was raised.
public struct MessagingError: Error, CustomStringConvertible, Sendable {
    public enum Code: Hashable, Sendable {
        /// No reply within the request's timeout (the request is forgotten; a late reply is dropped).
        case timeout
        /// The node, server or client was shut down (or closed) before the operation completed.
        case closed
        /// The peer's queue is at its high-water mark: nothing was sent.
        case queueFull
        /// The peer is gone (a ROUTER reply to a client that disconnected).
        case undeliverable
        /// Frames that are not a message of this format (wrong magic, truncated, inconsistent).
        case malformed
        /// A message larger than the configured maximum.
        case oversized
        /// An envelope version this build does not read.
        case unknownVersion
        /// A message stamped with another run's id.
        case wrongRun
        /// A tensor whose shape, dtype and bytes disagree.
        case invalidTensor
        /// A message whose sequence number its connection already used (or one too old to tell).
        case replayed
        /// A CURVE key that is not a key, or a tcp endpoint whose server key the node lacks.
        case badKey
        /// The peer answered with an error reply carrying this wire code (see `WireErrorCode`).
        case remote(Int64)
    }

    public let code: Code
    public let detail: String
    public let fileID: String
    public let line: Int

    public init(_ code: Code, _ detail: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.detail = detail
        self.fileID = fileID
        self.line = line
    }

    public var description: String { "\(code): \(detail) [\(fileID):\(line)]" }

    /// The wire code an error reply carries for a refused request.
    var wireCode: Int64 {
        switch code {
        case .malformed: return WireErrorCode.malformed
        case .oversized: return WireErrorCode.oversized
        case .unknownVersion: return WireErrorCode.unknownVersion
        case .wrongRun: return WireErrorCode.wrongRun
        case .replayed: return WireErrorCode.replayed
        case .invalidTensor: return WireErrorCode.malformed
        case .remote(let c): return c
        default: return WireErrorCode.internalError
        }
    }
}

/// Codes of error replies (metadata `code` of a `.error` message). 1-99 are Messaging's; 100 and
/// above belong to the layers above (a handler's `replyError(code:text:)`).
public enum WireErrorCode {
    public static let malformed: Int64 = 1
    public static let oversized: Int64 = 2
    public static let unknownVersion: Int64 = 3
    public static let wrongRun: Int64 = 4
    /// A kind value in Messaging's reserved range (4-15) that it does not define.
    public static let unknownKind: Int64 = 5
    public static let internalError: Int64 = 6
    /// A sequence number the connection already used (`SequenceWindow`).
    public static let replayed: Int64 = 7
    /// The first code free for the layers above.
    public static let firstApplicationCode: Int64 = 100
}
