import Foundation

/// `metrics.jsonl` in the run directory: one JSON object per line, one line per logging step
/// and per evaluation, each with `step` and `epoch`.
public final class MetricsLog {
    /// The file name inside the run directory.
    public static let fileName = "metrics.jsonl"
    public let path: String
    private let handle: FileHandle

    /// Opens (or creates) the log.
    /// - Parameters:
    ///   - directory: the run directory.
    ///   - step: when resuming, the checkpoint's step: later lines, written by the run after that
    ///     checkpoint, are dropped so the log reads as one uninterrupted run. Nil starts afresh.
    public init(directory: String, keepingStepsUpTo step: Int?) throws {
        path = (directory as NSString).appendingPathComponent(MetricsLog.fileName)
        var kept = Data()
        if let step, let old = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in old.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let s = (object["step"] as? NSNumber)?.intValue, s <= step else { continue }
                kept.append(contentsOf: Data(line.utf8) + Data([UInt8(ascii: "\n")]))
            }
        }
        try kept.write(to: URL(fileURLWithPath: path), options: .atomic)
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Appends one line.
    public func append(_ object: [String: Any]) throws {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        data.append(UInt8(ascii: "\n"))
        try handle.write(contentsOf: data)
    }
}
