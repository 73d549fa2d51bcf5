import Foundation
import Training

/// One segment file of the experience log: an 8-byte header, then records framed as
///
///     "RXR1" | u32 payload length | u32 CRC-32C of the payload | payload
///
/// (little-endian). Appends only ever go to the last segment, so only its tail can be torn by a
/// crash; a scan stops at the first frame that is incomplete or fails its checksum.
public enum ExperienceLogSegment {
    /// The first bytes of every segment: the magic and the framing version.
    public static let fileHeader: [UInt8] = Array("RLHFXP01".utf8)
    static let recordMagic: [UInt8] = Array("RXR1".utf8)
    /// Magic, length and checksum before each payload.
    public static let frameHeaderBytes = 12
    /// A record larger than this is refused as damage rather than allocated.
    static let maxPayloadBytes = 1 << 31

    /// Where one record sits.
    public struct Location: Sendable, Equatable {
        /// The segment's path.
        public var file: String
        /// The frame's first byte in the file.
        public var offset: Int
        /// Frame header plus payload.
        public var length: Int
    }

    /// What a scan of one segment found.
    public struct Scan: Sendable {
        public var records: [Location] = []
        /// The end of the last whole record: what a writer keeps.
        public var validEnd: Int
        public var fileSize: Int
        /// Why the bytes past `validEnd` are not a record, when there are any.
        public var stopReason: String?
        /// False when the file is not a segment at all (another header): it is never cut or
        /// overwritten, and reading it is an error.
        public var isSegment = true
        /// Bytes past the last whole record (a torn tail, or a record still being written).
        public var trailingBytes: Int { fileSize - validEnd }
    }

    /// The framed bytes of a payload.
    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out = recordMagic
        out.reserveCapacity(payload.count + frameHeaderBytes)
        ExperienceRecordCodec.append(UInt32(payload.count), to: &out)
        ExperienceRecordCodec.append(payload.withUnsafeBytes { CRC32C.checksum($0) }, to: &out)
        out += payload
        return out
    }

    /// Reads the whole segment (memory-mapped) and hands its bytes to `body`.
    static func withContents<T>(of file: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
        } catch {
            throw ReplayError(.io, "\(file): cannot read (\(error.localizedDescription))")
        }
        return try data.withUnsafeBytes { try body($0) }
    }

    /// Finds the whole records of a segment, checking every checksum.
    public static func scan(_ file: String) throws -> Scan {
        try withContents(of: file) { bytes in scan(bytes, file: file) }
    }

    static func scan(_ bytes: UnsafeRawBufferPointer, file: String) -> Scan {
        var result = Scan(validEnd: 0, fileSize: bytes.count)
        let present = min(bytes.count, fileHeader.count)
        guard Array(bytes[0..<present]) == Array(fileHeader[0..<present]) else {
            result.stopReason = "the file does not start with \(String(decoding: fileHeader, as: UTF8.self)): not an experience log segment"
            result.isSegment = false
            return result
        }
        guard bytes.count >= fileHeader.count else {
            result.stopReason = "the segment header is incomplete (\(bytes.count) of \(fileHeader.count) bytes)"
            return result
        }
        var at = fileHeader.count
        result.validEnd = at
        while at < bytes.count {
            guard bytes.count - at >= frameHeaderBytes else {
                result.stopReason = "an incomplete record header at byte \(at)"
                break
            }
            guard Array(bytes[at..<(at + 4)]) == recordMagic else {
                result.stopReason = "no record marker at byte \(at)"
                break
            }
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)))
            let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self))
            guard length <= bytes.count - at - frameHeaderBytes else {
                result.stopReason = "the record at byte \(at) declares \(length) bytes; \(bytes.count - at - frameHeaderBytes) follow"
                break
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(at + frameHeaderBytes)..<(at + frameHeaderBytes + length)])
            guard CRC32C.checksum(payload) == crc else {
                result.stopReason = "the record at byte \(at) fails its checksum"
                break
            }
            result.records.append(Location(file: file, offset: at, length: frameHeaderBytes + length))
            at += frameHeaderBytes + length
            result.validEnd = at
        }
        return result
    }
}
