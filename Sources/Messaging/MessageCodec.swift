import Foundation

/// Bounds a node applies to every message it receives (data from outside the process).
public struct MessageLimits: Sendable, Hashable {
    /// Total bytes of all frames; larger messages are dropped (or answered) and counted as
    /// oversized. Also set as ZMQ_MAXMSGSIZE (a per-frame bound libzmq enforces on ipc/tcp by
    /// disconnecting the peer before allocating). 1 GiB: a full set of weights of a small model.
    public var maxMessageBytes: Int = 1 << 30
    /// Bytes of the metadata frame (JSON); 1 MiB is far above what roles send.
    public var maxMetadataBytes: Int = 1 << 20
    /// Tensor frames per message.
    public var maxTensors: Int = 4096

    public init(maxMessageBytes: Int = 1 << 30, maxMetadataBytes: Int = 1 << 20, maxTensors: Int = 4096) {
        self.maxMessageBytes = maxMessageBytes
        self.maxMetadataBytes = maxMetadataBytes
        self.maxTensors = maxTensors
    }
}

/// The JSON document of frame 1.
struct MetadataDocument: Codable {
    struct TensorDescriptor: Codable {
        var name: String
        var dtype: TensorDType
        var shape: [Int]
    }
    var tensors: [TensorDescriptor]
    var metadata: [String: MetadataValue]
}

/// Messages to frames and back; pure (no sockets), so tests drive it directly.
public enum MessageCodec {
    /// The frames of `message`: header, metadata JSON, then each tensor's bytes as they are (no
    /// copy). Throws when the metadata cannot be JSON (a NaN or infinite double).
    public static func encode(_ message: Message) throws -> [FrameBytes] {
        let doc = MetadataDocument(
            tensors: message.tensors.map { .init(name: $0.name, dtype: $0.dtype, shape: $0.shape) },
            metadata: message.metadata)
        let json: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            json = try encoder.encode(doc)
        } catch {
            throw MessagingError(.malformed, "\(message.kind) message: metadata is not valid JSON: \(error)")
        }
        var envelope = message.envelope
        envelope.version = Envelope.currentVersion
        envelope.tensorCount = UInt32(message.tensors.count)
        envelope.metadataByteCount = UInt32(json.count)
        let meta = json.withUnsafeBytes { FrameBytes(copying: $0) }
        return [envelope.encoded(), meta] + message.tensors.map(\.bytes)
    }

    /// The message in `frames`, validated against `limits` and, when `runID` is not 0, against
    /// the run id. Throws a `MessagingError` whose code says how it failed (malformed, oversized,
    /// unknownVersion, wrongRun) and whose detail names the frame or field.
    public static func decode(_ frames: ArraySlice<FrameBytes>, limits: MessageLimits, runID: UInt64 = 0) throws -> Message {
        let total = frames.reduce(0) { $0 &+ $1.count }
        guard total <= limits.maxMessageBytes else {
            throw MessagingError(.oversized, "message of \(total) bytes, the limit is \(limits.maxMessageBytes)")
        }
        guard let first = frames.first else { throw MessagingError(.malformed, "empty message (no frames)") }
        let envelope = try first.withUnsafeBytes { try Envelope.decode($0) }
        guard frames.count >= 2 else { throw MessagingError(.malformed, "\(frames.count) frame(s); a message has an envelope and a metadata frame") }
        if runID != 0 && envelope.runID != runID {
            throw MessagingError(.wrongRun, "message of run \(envelope.runID) sent to run \(runID)")
        }
        guard envelope.kind.isKnown else { throw MessagingError(.malformed, "unknown reserved \(envelope.kind)") }
        let tensorFrames = frames.count - 2
        guard Int(envelope.tensorCount) == tensorFrames else {
            throw MessagingError(.malformed, "envelope declares \(envelope.tensorCount) tensors, the message has \(tensorFrames) tensor frames")
        }
        guard tensorFrames <= limits.maxTensors else {
            throw MessagingError(.oversized, "\(tensorFrames) tensors, the limit is \(limits.maxTensors)")
        }
        let metaFrame = frames[frames.startIndex + 1]
        guard metaFrame.count <= limits.maxMetadataBytes else {
            throw MessagingError(.oversized, "metadata of \(metaFrame.count) bytes, the limit is \(limits.maxMetadataBytes)")
        }
        guard Int(envelope.metadataByteCount) == metaFrame.count else {
            throw MessagingError(.malformed, "envelope declares \(envelope.metadataByteCount) metadata bytes, frame 1 has \(metaFrame.count)")
        }
        let doc: MetadataDocument
        do {
            doc = try metaFrame.withUnsafeBytes { try JSONDecoder().decode(MetadataDocument.self, from: Data($0)) }
        } catch {
            throw MessagingError(.malformed, "frame 1 is not the metadata JSON: \(String(describing: error).prefix(300))")
        }
        guard doc.tensors.count == tensorFrames else {
            throw MessagingError(.malformed, "metadata describes \(doc.tensors.count) tensors, the message has \(tensorFrames) tensor frames")
        }
        var tensors: [TensorFrame] = []
        tensors.reserveCapacity(tensorFrames)
        var names = Set<String>()
        for (i, d) in doc.tensors.enumerated() {
            guard names.insert(d.name).inserted else { throw MessagingError(.malformed, "two tensors named '\(d.name)'") }
            do {
                tensors.append(try TensorFrame(name: d.name, dtype: d.dtype, shape: d.shape, bytes: frames[frames.startIndex + 2 + i]))
            } catch let e as MessagingError {
                throw MessagingError(.malformed, "frame \(2 + i): \(e.detail)")
            }
        }
        return Message(envelope: envelope, metadata: doc.metadata, tensors: tensors)
    }
}
