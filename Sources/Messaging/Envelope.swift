/// Frame 0 of every message: a fixed 48-byte little-endian header (Docs/messages.md gives the
/// layout byte by byte). Clients and publishers stamp `runID`, `sender` and `sequence` from their
/// node and their own counter when they send; the caller chooses `kind` and `policyVersion`.
public struct Envelope: Hashable, Sendable {
    /// The wire format version this build writes and the only one it reads.
    public static let currentVersion: UInt16 = 1
    /// "RLHF": the first four bytes of every frame 0.
    public static let magic: [UInt8] = [0x52, 0x4C, 0x48, 0x46]
    /// Bytes in frame 0.
    public static let byteCount = 48

    public var version: UInt16
    public var kind: MessageKind
    /// The run this message belongs to (a node drops messages of other runs when it has a run id).
    public var runID: UInt64
    /// The sending role instance, as the topology numbers them.
    public var sender: UInt64
    /// The sender's message counter; a reply carries its request's sequence.
    public var sequence: UInt64
    /// The policy (weights) version the payload was made with, or is about.
    public var policyVersion: UInt64
    /// Flags bit 0: the sender expects no reply (a one-way `send`); a server's reply is dropped.
    public var oneWay: Bool
    /// Tensor frames after the metadata frame (a decoded message checks it against the frames).
    public var tensorCount: UInt32
    /// Bytes of the metadata frame (checked on decode).
    public var metadataByteCount: UInt32

    public init(kind: MessageKind, runID: UInt64 = 0, sender: UInt64 = 0, sequence: UInt64 = 0, policyVersion: UInt64 = 0) {
        self.version = Self.currentVersion
        self.kind = kind
        self.runID = runID
        self.sender = sender
        self.sequence = sequence
        self.policyVersion = policyVersion
        self.oneWay = false
        self.tensorCount = 0
        self.metadataByteCount = 0
    }

    // MARK: - Bytes

    /// The 48 header bytes.
    public func encoded() -> FrameBytes {
        FrameBytes(count: Self.byteCount) { out in
            var w = ByteWriter(out)
            for b in Self.magic { w.put(b) }
            w.put(version)
            w.put(kind.rawValue)
            w.put(UInt8(oneWay ? 1 : 0))  // flags: bit 0 one-way; bits 1-7 reserved, written 0, ignored
            w.put(runID)
            w.put(sender)
            w.put(sequence)
            w.put(policyVersion)
            w.put(tensorCount)
            w.put(metadataByteCount)
        }
    }

    /// Reads a header; throws `MessageDecodeError` naming what was wrong.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Envelope {
        guard bytes.count >= 6 else { throw MessagingError(.malformed, "frame 0 has \(bytes.count) bytes, an envelope has \(byteCount)") }
        guard Array(bytes[0..<4]) == magic else { throw MessagingError(.malformed, "frame 0 does not start with the magic \"RLHF\"") }
        var r = ByteReader(bytes, at: 4)
        let version: UInt16 = r.get()
        guard version == currentVersion else {
            throw MessagingError(.unknownVersion, "envelope version \(version), this build reads version \(currentVersion)")
        }
        guard bytes.count == byteCount else { throw MessagingError(.malformed, "frame 0 has \(bytes.count) bytes, an envelope has \(byteCount)") }
        var e = Envelope(kind: MessageKind(rawValue: r.get()))
        let flags: UInt8 = r.get()
        e.oneWay = flags & 1 != 0
        e.runID = r.get()
        e.sender = r.get()
        e.sequence = r.get()
        e.policyVersion = r.get()
        e.tensorCount = r.get()
        e.metadataByteCount = r.get()
        return e
    }

    /// The best-effort sequence of a frame 0 that failed to decode (for correlating an error reply).
    static func salvageSequence(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count >= 32 else { return 0 }
        var r = ByteReader(bytes, at: 24)
        return r.get()
    }
}

/// Writes little-endian integers into a buffer of known size.
struct ByteWriter {
    private let out: UnsafeMutableRawBufferPointer
    private var offset = 0
    init(_ out: UnsafeMutableRawBufferPointer) { self.out = out }
    mutating func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        offset += MemoryLayout<T>.size
    }
}

/// Reads little-endian integers at unaligned offsets; callers check the length first.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset: Int
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }
    mutating func get<T: FixedWidthInteger>() -> T {
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }
}
