import Foundation
import Roles
import Training

/// The experience log of a run: every batch the trainers consumed, appended to
/// `<run>/experiences/segment-NNNNNN.rxl` as checksummed records (ExperienceLogSegment), a new
/// segment started once one passes `segmentBytes`.
///
/// Opening it (the first `start(at:)` or `record`) recovers from a crash: a torn record at the
/// end of the last segment is cut, reported, and every record before it is kept. A resumed run
/// also cuts the records of the iterations it will redo. Records become durable (fsync) at each
/// checkpoint, so a resume never finds the log behind its checkpoint.
public actor ExperienceLog: ExperienceRecorder {
    /// The sub-directory of a run directory that holds the log.
    public static let directoryName = "experiences"
    /// Segments roll over past this size by default: small enough to copy around, large enough
    /// that a long run has few files.
    public static let defaultSegmentBytes = 64 << 20

    public nonisolated let directory: String
    let segmentBytes: Int
    let report: @Sendable (String) -> Void
    private var handle: FileHandle?
    /// An exclusive lock on `.writer.lock` in the directory, held for the log's life: a second
    /// run writing the same log (two launches of one topology) is refused rather than allowed to
    /// interleave its records.
    private let lockDescriptor: Int32
    private var segmentIndex = 0
    private var segmentSize = 0

    /// - Parameters:
    ///   - directory: the log's directory (`<run>/experiences`), created when missing.
    ///   - segmentBytes: the size past which a new segment starts.
    ///   - report: where recovery says what it cut.
    public init(directory: String, segmentBytes: Int = ExperienceLog.defaultSegmentBytes,
                report: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.directory = directory
        self.segmentBytes = max(1024, segmentBytes)
        self.report = report
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ReplayError(.io, "\(directory): cannot create the experience log directory (\(error.localizedDescription))")
        }
        let lockPath = (directory as NSString).appendingPathComponent(".writer.lock")
        let fd = Self.openFile(lockPath)
        guard fd >= 0 else { throw ReplayError(.io, "\(lockPath): cannot open (errno \(errno))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Self.closeFile(fd)
            throw ReplayError(.busy, "\(directory): another process is writing this experience log; is a run of the same directory still going? (two runs cannot share a run directory)")
        }
        lockDescriptor = fd
    }

    deinit {
        // Closing the descriptor releases the lock.
        Self.closeFile(lockDescriptor)
    }

    // The actor's own open/close hide the C functions' names.
    private static func openFile(_ path: String) -> Int32 {
        #if canImport(Glibc)
        Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #else
        Darwin.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #endif
    }

    private static func closeFile(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }

    /// The segment files of the log in `directory`, in order.
    public static func segments(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { segmentNumber($0) != nil }
            .sorted { segmentNumber($0)! < segmentNumber($1)! }
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    static func segmentNumber(_ name: String) -> Int? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".rxl") else { return nil }
        return Int(name.dropFirst("segment-".count).dropLast(".rxl".count))
    }

    static func segmentName(_ n: Int) -> String {
        let digits = String(n)
        return "segment-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".rxl"
    }

    // MARK: - ExperienceRecorder

    public func start(at iteration: Int) throws {
        try close()
        try open(keepingIterationsBelow: iteration)
    }

    public func record(_ record: ExperienceRecord) throws {
        if handle == nil { try open(keepingIterationsBelow: nil) }
        let framed = ExperienceLogSegment.frame(try ExperienceRecordCodec.encode(record))
        if segmentSize > ExperienceLogSegment.fileHeader.count && segmentSize + framed.count > segmentBytes {
            try close()
            try createSegment(segmentIndex + 1)
        }
        try write(framed)
        segmentSize += framed.count
    }

    public func checkpointed(iteration: Int) throws {
        do {
            try handle?.synchronize()
        } catch {
            throw ReplayError(.io, "\(currentPath): cannot flush the experience log (\(error.localizedDescription))")
        }
    }

    /// Flushes and closes the current segment; the next record reopens the log.
    public func close() throws {
        guard let h = handle else { return }
        handle = nil
        try? h.synchronize()
        try? h.close()
    }

    // MARK: - Opening and recovery

    private var currentPath: String { (directory as NSString).appendingPathComponent(Self.segmentName(segmentIndex)) }

    /// Opens the last segment for appending after cutting its torn tail and, when
    /// `keepingIterationsBelow` is given, every record of a later iteration.
    private func open(keepingIterationsBelow cut: Int?) throws {
        var files = Self.segments(in: directory)
        if let last = files.last {
            let scan = try ExperienceLogSegment.scan(last)
            guard scan.isSegment else {
                throw ReplayError(.damaged, "\(last): \(scan.stopReason ?? "not a segment"); move it out of the log directory (nothing was changed)")
            }
            if scan.validEnd < ExperienceLogSegment.fileHeader.count {
                // Not even the header survived: the segment holds nothing to keep.
                report("experience log: \(last): \(scan.stopReason ?? "empty"); starting it again")
                try remove(last)
                files.removeLast()
            } else if scan.trailingBytes > 0 {
                try truncate(last, to: scan.validEnd)
                report("experience log: \(last): cut a torn record of \(scan.trailingBytes) bytes at byte \(scan.validEnd) (\(scan.stopReason ?? "")); the \(scan.records.count) records before it are kept")
            }
        }
        if let cut {
            // The first record at or past the cut, wherever it is; everything from it on goes.
            for (i, file) in files.enumerated() {
                // Each segment is read once; its records' iterations say where the cut falls.
                let found = try ExperienceLogSegment.withContents(of: file) { bytes -> (offset: Int, dropped: Int)? in
                    let records = ExperienceLogSegment.scan(bytes, file: file).records
                    for (k, location) in records.enumerated()
                    where try ExperienceLogReader.decode(bytes, at: location).batch.iteration >= cut {
                        return (location.offset, records.count - k)
                    }
                    return nil
                }
                guard let found else { continue }
                try truncate(file, to: found.offset)
                for later in files[(i + 1)...] { try remove(later) }
                report("experience log: dropped the records from iteration \(cut + 1) on (\(found.dropped) in \((file as NSString).lastPathComponent)\(files.count > i + 1 ? " and \(files.count - i - 1) later segment(s)" : "")), which the resumed run redoes")
                files = Array(files[...i])
                break
            }
        }
        guard let last = files.last else { return try createSegment(1) }
        segmentIndex = Self.segmentNumber((last as NSString).lastPathComponent)!
        segmentSize = try ExperienceLogSegment.scan(last).validEnd
        do {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: last))
            try h.seekToEnd()
            handle = h
        } catch {
            throw ReplayError(.io, "\(last): cannot open for appending (\(error.localizedDescription))")
        }
    }

    private func createSegment(_ n: Int) throws {
        segmentIndex = n
        let path = currentPath
        guard FileManager.default.createFile(atPath: path, contents: Data(ExperienceLogSegment.fileHeader)) else {
            throw ReplayError(.io, "\(path): cannot create an experience log segment")
        }
        do {
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try h.seekToEnd()
            handle = h
        } catch {
            throw ReplayError(.io, "\(path): cannot open for appending (\(error.localizedDescription))")
        }
        segmentSize = ExperienceLogSegment.fileHeader.count
    }

    private func write(_ bytes: [UInt8]) throws {
        do {
            try handle!.write(contentsOf: bytes)
        } catch {
            throw ReplayError(.io, "\(currentPath): cannot append a record (\(error.localizedDescription))")
        }
    }

    private func truncate(_ file: String, to size: Int) throws {
        guard truncate(file, Int64(size)) == 0 else {
            throw ReplayError(.io, "\(file): cannot cut to \(size) bytes (errno \(errno))")
        }
    }

    private nonisolated func truncate(_ path: String, _ size: Int64) -> Int32 {
        #if canImport(Glibc)
        Glibc.truncate(path, __off_t(size))
        #else
        Darwin.truncate(path, off_t(size))
        #endif
    }

    private func remove(_ file: String) throws {
        do {
            try FileManager.default.removeItem(atPath: file)
        } catch {
            throw ReplayError(.io, "\(file): cannot remove (\(error.localizedDescription))")
        }
    }
}
