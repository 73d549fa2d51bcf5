import Foundation

/// The run's metrics as a TensorBoard event file (`report_to: [tensorboard]`), so
/// `tensorboard --logdir output_dir` shows the curves as it does for transformers' Trainer.
///
/// The file is `output_dir/runs/events.out.tfevents.<time>.<host>.<pid>.<id>`: TFRecord framing
/// (length, masked CRC-32C of the length, the record, masked CRC-32C of the record) around
/// `tensorflow.Event` protobufs, hand-encoded: the first says `brain.Event:2`, each later one
/// holds scalars (`Summary.Value.simple_value`) at a step. Names follow transformers'
/// TensorBoard callback: `eval_loss` becomes `eval/loss`, `loss` becomes `train/loss`. A torn
/// last record (a crash mid-write) fails its CRC and TensorBoard skips it. A resumed run starts
/// its file with a `SessionLog.START` at the resume step, TensorBoard's signal to drop the points
/// the interrupted run logged after its checkpoint.
public final class TensorBoardLog {
    /// The sub-directory of the run directory that holds event files.
    public static let directoryName = "runs"
    public let path: String
    private let handle: FileHandle

    /// Creates a new event file.
    /// - Parameters:
    ///   - directory: the run directory.
    ///   - resumedAt: the step a resumed run continues from, or nil for a fresh run.
    public init(directory: String, resumedAt: Int?) throws {
        let dir = (directory as NSString).appendingPathComponent(TensorBoardLog.directoryName)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        // TensorFlow's pattern (time, host, pid, then a number unique within the process).
        let unique = UUID().uuidString.prefix(8).lowercased()
        path = (dir as NSString).appendingPathComponent("events.out.tfevents.\(Int(now)).\(host).\(getpid()).\(unique)")
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw TrainingError(.io, path: path, "cannot create the TensorBoard event file")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var first = EventEncoding.event(wallTime: now, step: 0)
        first += EventEncoding.field(3, string: "brain.Event:2")
        try write(first)
        if let resumedAt {
            var start = EventEncoding.event(wallTime: now, step: resumedAt)
            start += EventEncoding.field(6, message: EventEncoding.varintField(1, 1))  // SessionLog{status: START}
            try write(start)
        }
    }

    deinit { try? handle.close() }

    /// Writes the numeric values of a metrics line (its `step` says where) as scalars.
    public func append(_ line: [String: Any]) throws {
        guard let step = (line["step"] as? NSNumber)?.intValue else { return }
        var summary = Data()
        for key in line.keys.sorted() where key != "step" {
            // The trainer's lines hold Swift numbers; anything else (a string, a flag) is no scalar.
            let scalar: Float
            switch line[key] {
            case let v as Double: scalar = Float(v)
            case let v as Float: scalar = v
            case let v as Int: scalar = Float(v)
            default: continue
            }
            // Step 3 names its evaluation figures eval/... already.
            let tag = key.hasPrefix("eval/") ? key : key.hasPrefix("eval_") ? "eval/" + key.dropFirst(5) : "train/" + key
            var value = EventEncoding.field(1, string: tag)
            value += EventEncoding.field(2, float: scalar)
            summary += EventEncoding.field(1, message: value)
        }
        guard !summary.isEmpty else { return }
        var event = EventEncoding.event(wallTime: Date().timeIntervalSince1970, step: step)
        event += EventEncoding.field(5, message: summary)
        try write(event)
    }

    private func write(_ record: Data) throws {
        var framed = Data()
        let length = EventEncoding.littleEndian(UInt64(record.count))
        framed += length
        framed += EventEncoding.littleEndian(CRC32C.masked(length))
        framed += record
        framed += EventEncoding.littleEndian(CRC32C.masked(record))
        try handle.write(contentsOf: framed)
    }
}

/// The protobuf wire format, as far as `tensorflow.Event` needs it.
enum EventEncoding {
    /// An `Event` with its `wall_time` (field 1) and `step` (field 2).
    static func event(wallTime: Double, step: Int) -> Data {
        var d = Data([0x09]) + littleEndian(wallTime.bitPattern)  // field 1, 64-bit
        d += varintField(2, UInt64(max(0, step)))
        return d
    }

    static func varintField(_ number: Int, _ value: UInt64) -> Data {
        varint(UInt64(number << 3)) + varint(value)
    }

    static func field(_ number: Int, string: String) -> Data {
        field(number, message: Data(string.utf8))
    }

    static func field(_ number: Int, message: Data) -> Data {
        varint(UInt64(number << 3 | 2)) + varint(UInt64(message.count)) + message
    }

    static func field(_ number: Int, float: Float) -> Data {
        varint(UInt64(number << 3 | 5)) + littleEndian(float.bitPattern)
    }

    static func varint(_ value: UInt64) -> Data {
        var v = value, out = Data()
        repeat {
            let byte = UInt8(v & 0x7F)
            v >>= 7
            out.append(v == 0 ? byte : byte | 0x80)
        } while v != 0
        return out
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> Data {
        withUnsafeBytes(of: value.littleEndian) { Data($0) }
    }
}

/// CRC-32C (Castagnoli), the checksum TFRecord frames carry, and its masked form.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The checksum of `data`.
    public static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for byte in bytes { crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// TFRecord's mask: the checksum rotated right by 15 bits plus a constant, so that a CRC of
    /// data that itself holds CRCs does not degenerate.
    public static func masked(_ data: Data) -> UInt32 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
