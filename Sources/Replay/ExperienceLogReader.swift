import Foundation
import Roles
import Training

/// Reads a run's experience log, also while the run is writing it: a record still being
/// written at the end of the last segment is not there yet (it is reported, never an error),
/// while damage anywhere before it is an error naming the segment and byte.
public struct ExperienceLogReader: Sendable {
    /// The log's directory (`<run>/experiences`).
    public let directory: String
    /// Its segments, in order, when the reader was made.
    public let segments: [String]

    /// - Parameter run: a run directory (holding `experiences/`) or the log directory itself.
    /// - Throws: `.notFound` when there is no log there.
    public init(run: String) throws {
        let inside = (run as NSString).appendingPathComponent(ExperienceLog.directoryName)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: inside, isDirectory: &isDirectory), isDirectory.boolValue {
            directory = inside
        } else if !ExperienceLog.segments(in: run).isEmpty {
            directory = run
        } else {
            throw ReplayError(.notFound, "\(run): no experience log (expected \(inside)/segment-000001.rxl; step-3 runs write it as they train)")
        }
        segments = ExperienceLog.segments(in: directory)
        guard !segments.isEmpty else { throw ReplayError(.notFound, "\(directory): the experience log has no segment yet") }
    }

    /// What the end of the log looked like.
    public struct Tail: Sendable {
        /// Bytes after the last whole record of the last segment (a torn or unfinished record).
        public var trailingBytes: Int
        public var reason: String?
    }

    /// Calls `body` with each record in order until it returns false.
    /// - Returns: the state of the log's end.
    @discardableResult
    public func forEach(_ body: (ExperienceRecord, ExperienceLogSegment.Location) throws -> Bool) throws -> Tail {
        var tail = Tail(trailingBytes: 0, reason: nil)
        for (i, file) in segments.enumerated() {
            let last = i == segments.count - 1
            let keepGoing = try ExperienceLogSegment.withContents(of: file) { bytes -> Bool in
                let scan = ExperienceLogSegment.scan(bytes, file: file)
                guard scan.isSegment else { throw ReplayError(.damaged, "\(file): \(scan.stopReason ?? "not a segment")") }
                if scan.trailingBytes > 0 {
                    guard last else {
                        throw ReplayError(.damaged, "\(file): \(scan.stopReason ?? "damaged") (byte \(scan.validEnd) of \(scan.fileSize)); the segments after it cannot be trusted to follow on")
                    }
                    tail = Tail(trailingBytes: scan.trailingBytes, reason: scan.stopReason)
                }
                for location in scan.records {
                    let record = try Self.decode(bytes, at: location)
                    if try !body(record, location) { return false }
                }
                return true
            }
            if !keepGoing { break }
        }
        return tail
    }

    /// Records one at a time, a segment in memory at a time: for walking two logs side by side.
    public func cursor() -> Cursor { Cursor(segments: segments) }

    /// Reads the log's records in order; `next()` is nil after the last whole record.
    public struct Cursor {
        let segments: [String]
        private var segment = -1
        private var data = Data()
        private var locations: [ExperienceLogSegment.Location] = []
        private var index = 0

        init(segments: [String]) { self.segments = segments }

        public mutating func next() throws -> ExperienceRecord? {
            while index >= locations.count {
                segment += 1
                guard segment < segments.count else { return nil }
                let file = segments[segment]
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
                } catch {
                    throw ReplayError(.io, "\(file): cannot read (\(error.localizedDescription))")
                }
                let scan = data.withUnsafeBytes { ExperienceLogSegment.scan($0, file: file) }
                guard scan.isSegment else { throw ReplayError(.damaged, "\(file): \(scan.stopReason ?? "not a segment")") }
                if scan.trailingBytes > 0 && segment < segments.count - 1 {
                    throw ReplayError(.damaged, "\(file): \(scan.stopReason ?? "damaged") (byte \(scan.validEnd) of \(scan.fileSize)); the segments after it cannot be trusted to follow on")
                }
                locations = scan.records
                index = 0
            }
            let location = locations[index]
            index += 1
            return try data.withUnsafeBytes { try ExperienceLogReader.decode($0, at: location) }
        }
    }

    /// Every record, in order.
    public func records() throws -> [ExperienceRecord] {
        var out: [ExperienceRecord] = []
        try forEach { r, _ in out.append(r); return true }
        return out
    }

    /// The record of iteration `iteration`.
    public func record(iteration: Int) throws -> ExperienceRecord {
        var found: ExperienceRecord?
        var seen: [Int] = []
        try forEach { r, _ in
            seen.append(r.batch.iteration)
            if r.batch.iteration == iteration { found = r; return false }
            return true
        }
        guard let found else {
            let range = seen.isEmpty ? "none" : "\(seen.min()! + 1)-\(seen.max()! + 1)"
            throw ReplayError(.notFound, "\(directory): no record of iteration \(iteration + 1) (recorded iterations: \(range))")
        }
        return found
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, at location: ExperienceLogSegment.Location) throws -> ExperienceRecord {
        let start = location.offset + ExperienceLogSegment.frameHeaderBytes
        let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<(location.offset + location.length)])
        do {
            return try ExperienceRecordCodec.decode(payload)
        } catch let e as ReplayError {
            throw ReplayError(e.code, "\(location.file): the record at byte \(location.offset): \(e.message)")
        }
    }
}
