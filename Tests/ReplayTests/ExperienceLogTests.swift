import Foundation
import Replay
import Roles
import Training
import XCTest

/// The experience log on disk: records round-trip every bit, a torn tail is cut at any byte and
/// nothing before it is lost, segments roll over, a resume drops the iterations it redoes, and
/// readers work while a writer appends.
final class ExperienceLogTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("xlog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A record of `rows` samples with every field drawn from a seeded generator (ragged lengths,
    /// negative and tiny values, a NaN among the figures).
    static func record(iteration: Int, rows: Int = 3, promptWidth: Int = 5, responseWidth: Int = 6, seed: UInt64 = 1) -> ExperienceRecord {
        var g = SplitMix(seed &+ UInt64(iteration) &* 1000)
        var b = ExperienceBatch(batchID: UInt64(iteration), iteration: iteration, policyVersion: max(0, iteration - 1), B: rows,
                                promptWidth: promptWidth, responseWidth: responseWidth, groupSize: rows)
        for r in 0..<rows {
            b.promptLengths[r] = Int32(1 + Int(g.next() % UInt64(promptWidth)))
            b.responseLengths[r] = Int32(1 + Int(g.next() % UInt64(responseWidth)))
            b.ended[r] = UInt8(g.next() % 2)
            b.scores[r] = g.float() * 4 - 2
        }
        b.prompts = b.prompts.map { _ in Int32(g.next() % 400) }
        b.responses = b.responses.map { _ in Int32(g.next() % 400) }
        for path in [\ExperienceBatch.behaviourLogProbs, \.logProbs, \.refLogProbs, \.values, \.rewards, \.klRewards, \.advantages, \.returns] {
            b[keyPath: path] = b[keyPath: path].map { _ in (g.float() - 0.5) * Float(1 << (g.next() % 20)) }
        }
        return ExperienceRecord(batch: b, klCoef: 0.1 + Double(iteration), runSeed: 42, generationSeed: g.next(),
                                policyVersionAfter: iteration + 1,
                                trained: ["policy_loss": Double(g.float()), "odd": .nan, "train_s": 0.5],
                                digests: ["actor": [TensorDigest(name: "model.embed_tokens.weight", value: g.next()),
                                                    TensorDigest(name: "lm_head.weight", value: g.next())]])
    }

    private func segment(_ n: Int = 1) -> String { "\(directory)/segment-\(String(format: "%06d", n)).rxl" }

    private func write(_ records: [ExperienceRecord], segmentBytes: Int = ExperienceLog.defaultSegmentBytes) async throws {
        let log = try ExperienceLog(directory: directory, segmentBytes: segmentBytes)
        for r in records { try await log.record(r) }
        try await log.close()
    }

    private func read() throws -> [ExperienceRecord] { try ExperienceLogReader(run: directory).records() }

    private func assertSame(_ a: [ExperienceRecord], _ b: [ExperienceRecord], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "record count \(message)", file: file, line: line)
        for (x, y) in zip(a, b) {
            // Bits, not ==: NaN figures and -0 must come back exactly as written.
            XCTAssertEqual(x.batch.behaviourLogProbs.map(\.bitPattern), y.batch.behaviourLogProbs.map(\.bitPattern), file: file, line: line)
            XCTAssertEqual(x.batch.advantages.map(\.bitPattern), y.batch.advantages.map(\.bitPattern), file: file, line: line)
            var (xb, yb) = (x, y)
            xb.trained = [:]; yb.trained = [:]
            XCTAssertEqual(xb, yb, "record of iteration \(x.batch.iteration) \(message)", file: file, line: line)
            XCTAssertEqual(x.trained.mapValues(\.bitPattern), y.trained.mapValues(\.bitPattern), file: file, line: line)
        }
    }

    // MARK: - Tests

    func testRecords_roundTripEveryBit() async throws {
        let records = (0..<4).map { Self.record(iteration: $0) }
        try await write(records)
        assertSame(try read(), records)
        XCTAssertTrue(FileManager.default.fileExists(atPath: segment()))
    }

    /// Truncating the last segment at every byte offset of its last record (the tail a kill or
    /// power loss leaves): the reader returns every earlier record and reports the tail; opening
    /// the log for writing cuts the tail, says so, and appends after the last whole record.
    func testTornTail_atEveryByteOfTheLastRecord_keepsEveryEarlierRecord() async throws {
        let records = (0..<3).map { Self.record(iteration: $0, rows: 2, promptWidth: 3, responseWidth: 3) }
        try await write(records)
        let full = try Data(contentsOf: URL(fileURLWithPath: segment()))
        let locations = try ExperienceLogSegment.scan(segment()).records
        let lastStart = locations[2].offset
        XCTAssertEqual(locations[2].offset + locations[2].length, full.count)
        let next = Self.record(iteration: 2, rows: 2, promptWidth: 3, responseWidth: 3, seed: 9)
        for cut in lastStart..<full.count {
            try full.prefix(cut).write(to: URL(fileURLWithPath: segment()))
            let reader = try ExperienceLogReader(run: directory)
            var seen: [ExperienceRecord] = []
            let tail = try reader.forEach { r, _ in seen.append(r); return true }
            assertSame(seen, Array(records.prefix(2)), "reading a log cut at byte \(cut)")
            XCTAssertEqual(tail.trailingBytes, cut - lastStart, "cut at \(cut)")

            let reports = Reports()
            let log = try ExperienceLog(directory: directory, report: { reports.add($0) })
            try await log.record(next)
            try await log.close()
            assertSame(try read(), Array(records.prefix(2)) + [next], "after recovery from a cut at byte \(cut)")
            if cut > lastStart {
                XCTAssertTrue(reports.all.contains { $0.contains("cut a torn record of \(cut - lastStart) bytes") }, "\(reports.all)")
            }
        }
    }

    /// Damage before the tail (a flipped bit in an earlier segment) is an error naming the
    /// segment and the byte, never a silent skip.
    func testDamageInAnEarlierSegment_isAnErrorNamingSegmentAndByte() async throws {
        try await write((0..<3).map { Self.record(iteration: $0) }, segmentBytes: 1024)
        XCTAssertEqual(ExperienceLog.segments(in: directory).count, 3, "one record per 1 KiB segment")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment(1)))
        bytes[bytes.count - 10] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: segment(1)))
        XCTAssertThrowsError(try read()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("segment-000001.rxl") && text.contains("checksum") && text.contains("byte 8"), text)
        }
    }

    func testSegments_rollOverAtTheirSize_andReadInOrder() async throws {
        let records = (0..<5).map { Self.record(iteration: $0) }
        let one = try ExperienceRecordCodec.encode(records[0]).count + ExperienceLogSegment.frameHeaderBytes
        try await write(records, segmentBytes: 2 * one + 100)
        let segments = ExperienceLog.segments(in: directory)
        XCTAssertEqual(segments.count, 3, "two records fit a segment: \(segments)")
        for s in segments {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: s)[.size] as? Int)
            XCTAssertLessThanOrEqual(size, 2 * one + 100)
        }
        assertSame(try read(), records)
    }

    /// A run resumed at iteration 2 drops what the interrupted run recorded from 2 on (in the
    /// segment where 2 starts and every later one) and records those iterations again.
    func testResume_dropsTheIterationsItRedoes() async throws {
        let records = (0..<5).map { Self.record(iteration: $0) }
        let one = try ExperienceRecordCodec.encode(records[0]).count + ExperienceLogSegment.frameHeaderBytes
        try await write(records, segmentBytes: one + 100)
        XCTAssertEqual(ExperienceLog.segments(in: directory).count, 5)
        let reports = Reports()
        let log = try ExperienceLog(directory: directory, segmentBytes: one + 100, report: { reports.add($0) })
        try await log.start(at: 2)
        // Iteration 2 began segment 3: it is cut back to its header, segments 4 and 5 go.
        XCTAssertEqual(ExperienceLog.segments(in: directory).count, 3, "segments of iterations 3-4 are removed")
        XCTAssertEqual(try ExperienceLogSegment.scan(segment(3)).records.count, 0)
        XCTAssertTrue(reports.all.contains { $0.contains("from iteration 3") }, "\(reports.all)")
        let redone = Self.record(iteration: 2, seed: 5)
        try await log.record(redone)
        try await log.close()
        assertSame(try read(), Array(records.prefix(2)) + [redone])
    }

    /// A reader made while the writer appends sees what was whole when it read, and a record
    /// half written (as a reader may catch it) is not there yet rather than an error.
    func testReader_whileTheWriterAppends() async throws {
        let log = try ExperienceLog(directory: directory)
        try await log.record(Self.record(iteration: 0))
        try await log.checkpointed(iteration: 1)
        XCTAssertEqual(try read().count, 1)
        try await log.record(Self.record(iteration: 1))
        try await log.checkpointed(iteration: 2)
        XCTAssertEqual(try read().map(\.batch.iteration), [0, 1])
        // Half of a third record, as a concurrent writer would have it.
        let frame = try ExperienceRecordCodec.encode(Self.record(iteration: 2))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment()))
        try handle.seekToEnd()
        try handle.write(contentsOf: Array("RXR1".utf8) + [0xff, 0x00, 0x00, 0x00] + frame.prefix(40))
        try handle.close()
        XCTAssertEqual(try read().map(\.batch.iteration), [0, 1])
        try await log.close()
    }

    /// Bytes that are not a record at all are refused with the field named, whatever checksum
    /// they carry: a header declaring a huge batch, arrays that do not fit it, garbage JSON.
    func testHostileRecords_areRefusedWithTheFieldNamed() throws {
        let good = try ExperienceRecordCodec.encode(Self.record(iteration: 0))
        let headerLength = Int(good[0]) | Int(good[1]) << 8 | Int(good[2]) << 16 | Int(good[3]) << 24
        var header = String(decoding: good[4..<(4 + headerLength)], as: UTF8.self)
        header = header.replacingOccurrences(of: "\"rows\":3", with: "\"rows\":1000000000")
        let hostile: [([UInt8], String)] = [
            ([1, 2], "shorter"),
            ([255, 255, 255, 255] + Array(good[4...]), "header length"),
            (Array(good[0..<4]) + Array(repeating: UInt8(ascii: "x"), count: headerLength) + Array(good[(4 + headerLength)...]), "JSON"),
            (lengthPrefixed(header) + Array(good[(4 + headerLength)...]), "is not a batch"),
            (Array(good.dropLast(3)), "past the end"),
        ]
        for (bytes, expected) in hostile {
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try ExperienceRecordCodec.decode($0) }, expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should say \(expected)")
            }
        }
    }

    private func lengthPrefixed(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        return [UInt8(u.count & 255), UInt8(u.count >> 8 & 255), UInt8(u.count >> 16 & 255), 0] + u
    }

    /// Two writers of one log (two runs in one directory) cannot interleave: the second is
    /// refused while the first lives, and may write once it is gone.
    func testSecondWriter_isRefusedWhileTheFirstHoldsTheLog() async throws {
        var first: ExperienceLog? = try ExperienceLog(directory: directory)
        try await first?.record(Self.record(iteration: 0))
        XCTAssertThrowsError(try ExperienceLog(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("another process is writing this experience log"), "\(error)")
        }
        first = nil
        let second = try ExperienceLog(directory: directory)
        try await second.record(Self.record(iteration: 1))
        try await second.close()
        XCTAssertEqual(try read().map(\.batch.iteration), [0, 1])
    }

    /// A file named like a segment that is not one (another header) is an error for readers and
    /// for the writer, which leaves it as it is rather than cutting or replacing it.
    func testForeignFileNamedLikeASegment_isRefusedAndLeftAlone() async throws {
        let junk = Data("not a segment, some other file".utf8)
        try junk.write(to: URL(fileURLWithPath: segment()))
        XCTAssertThrowsError(try read()) { XCTAssertTrue("\($0)".contains("not an experience log segment"), "\($0)") }
        let log = try ExperienceLog(directory: directory)
        do {
            try await log.record(Self.record(iteration: 0))
            XCTFail("the writer appended to a foreign file")
        } catch {
            XCTAssertTrue("\(error)".contains("nothing was changed"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: segment())), junk)
    }

    func testNoLog_isNamedClearly() {
        XCTAssertThrowsError(try ExperienceLogReader(run: "\(directory)/nowhere")) { error in
            XCTAssertTrue("\(error)".contains("no experience log"), "\(error)")
        }
    }
}

/// Lines a log reported (the report closure is @Sendable).
final class Reports: @unchecked Sendable {
    // @unchecked Sendable: every access goes through `lock`.
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

/// A small seeded generator for test data.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
