import Foundation
import Training
import XCTest

/// The TensorBoard event files: framing and checksums read back independently of the writer,
/// events decoded from the protobuf wire format.
final class TensorBoardLogTests: XCTestCase {
    func testCRC32C_matchesTheStandardCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Data("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum(Data()), 0)
    }

    /// One decoded event: its step, file_version, session-log status and scalars.
    struct Event {
        var step = 0
        var fileVersion: String?
        var sessionStatus: Int?
        var scalars: [String: Float] = [:]
    }

    /// Reads the TFRecord frames of `data`, checking both checksums of each.
    func records(_ data: Data) throws -> [Data] {
        var out: [Data] = []
        var i = data.startIndex
        func u32(_ at: Int) -> UInt32 { data[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        while i < data.endIndex {
            let lengthBytes = data[i..<i + 8]
            let length = Int(lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            XCTAssertEqual(u32(i + 8), CRC32C.masked(Data(lengthBytes)), "length checksum")
            let record = data[(i + 12)..<(i + 12 + length)]
            XCTAssertEqual(u32(i + 12 + length), CRC32C.masked(Data(record)), "record checksum")
            out.append(Data(record))
            i += 16 + length
        }
        return out
    }

    /// The fields of a protobuf message: (field number, wire type, varint or bytes).
    func fields(_ d: Data) -> [(Int, Int, UInt64, Data)] {
        var out: [(Int, Int, UInt64, Data)] = []
        var i = d.startIndex
        func varint() -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                let b = d[i]; i += 1
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
        }
        while i < d.endIndex {
            let key = varint()
            let number = Int(key >> 3), wire = Int(key & 7)
            switch wire {
            case 0: out.append((number, wire, varint(), Data()))
            case 1: out.append((number, wire, 0, Data(d[i..<i + 8]))); i += 8
            case 2: let n = Int(varint()); out.append((number, wire, 0, Data(d[i..<i + n]))); i += n
            case 5: out.append((number, wire, 0, Data(d[i..<i + 4]))); i += 4
            default: XCTFail("wire type \(wire)"); return out
            }
        }
        return out
    }

    func decode(_ record: Data) -> Event {
        var e = Event()
        for (number, _, value, bytes) in fields(record) {
            switch number {
            case 2: e.step = Int(value)
            case 3: e.fileVersion = String(decoding: bytes, as: UTF8.self)
            case 5:
                for (_, _, _, valueBytes) in fields(bytes) {
                    var tag = "", scalar: Float = .nan
                    for (n, _, _, b) in fields(valueBytes) {
                        if n == 1 { tag = String(decoding: b, as: UTF8.self) }
                        if n == 2 { scalar = Float(bitPattern: b.reversed().reduce(0) { $0 << 8 | UInt32($1) }) }
                    }
                    e.scalars[tag] = scalar
                }
            case 6: e.sessionStatus = Int(fields(bytes).first?.2 ?? 0)
            default: break
            }
        }
        return e
    }

    func events(in output: String) throws -> [[Event]] {
        let dir = output + "/" + TensorBoardLog.directoryName
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { name in
            XCTAssertTrue(name.hasPrefix("events.out.tfevents."), name)
            return try records(Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))).map(decode)
        }
    }

    func testTrainingRun_writesTheMetricsAsTensorBoardScalars_andResumeMarksItsStep() throws {
        let model = try Fixture.tinyModelDirectory(seed: 4)
        let output = Fixture.temporaryDirectory("tensorboard")
        func recipe(maxSteps: Int) -> TrainingRecipe {
            var r = Fixture.recipe(model: model, output: output, trainSamples: 32, evalSamples: 8)
            r.maxSteps = maxSteps
            r.loggingSteps = 2
            r.evalSteps = 2
            r.saveSteps = 2
            r.reportTo = ["tensorboard"]
            return r
        }
        try Fixture.trainer(.sft, recipe(maxSteps: 4)).train()
        let first = try XCTUnwrap(try events(in: output).first)
        XCTAssertEqual(first[0].fileVersion, "brain.Event:2")
        let metrics = try String(contentsOfFile: output + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let scalarEvents = first.dropFirst()
        XCTAssertEqual(scalarEvents.count, metrics.count, "one event per metrics line")
        for (event, line) in zip(scalarEvents, metrics) {
            XCTAssertEqual(event.step, line["step"] as? Int)
            // Every number of the line, whatever its value (an epoch of exactly 1 included).
            for (key, value) in line where key != "step" {
                let tag = key.hasPrefix("eval_") ? "eval/" + key.dropFirst(5) : "train/" + key
                XCTAssertEqual(event.scalars[tag], (value as? NSNumber)?.floatValue, "\(tag) at step \(event.step)")
            }
        }
        XCTAssertTrue(scalarEvents.contains { $0.scalars["train/epoch"] == 1 }, "4 updates of 8 of 32 records: epoch 1")
        XCTAssertTrue(scalarEvents.contains { $0.scalars["eval/loss"] != nil })
        XCTAssertTrue(scalarEvents.contains { $0.scalars["train/learning_rate"] != nil || $0.scalars["train/lr"] != nil })

        // Resuming from step 2 opens a second file that starts with SessionLog START at step 2.
        var again = recipe(maxSteps: 6)
        again.resumeFromCheckpoint = output + "/checkpoint-2"
        try Fixture.trainer(.sft, again).train()
        let files = try events(in: output)
        XCTAssertEqual(files.count, 2)
        let resumed = try XCTUnwrap(files.first { $0.contains { $0.sessionStatus != nil } })
        XCTAssertEqual(resumed[1].sessionStatus, 1)
        XCTAssertEqual(resumed[1].step, 2)
        XCTAssertEqual(resumed.last?.step, 6)
    }

    func testReportTo_unknownTargetIsRefusedWithTheKey() throws {
        var r = Fixture.recipe(model: try Fixture.tinyModelDirectory(seed: 4), output: Fixture.temporaryDirectory("report-to"),
                               trainSamples: 8, evalSamples: 4)
        r.reportTo = ["wandb"]
        XCTAssertThrowsError(try ResolvedRecipe(stage: .sft, recipe: r).validate()) { error in
            XCTAssertTrue("\(error)".contains("report_to"), "\(error)")
            XCTAssertTrue("\(error)".contains("wandb"), "\(error)")
        }
    }
}
