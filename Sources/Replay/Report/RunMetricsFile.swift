import Foundation

/// A run's metrics.jsonl read back for the report: each line's numeric figures by key.
public struct RunMetricsFile {
    /// The lines, in file order; keys whose value is not a number (or "nan"/"inf") are dropped.
    public var lines: [[String: Double]]
    /// What was skipped and why (a torn last line).
    public var warnings: [String]

    /// Reads `path`.
    /// - Throws: `ReportError` naming the file and line when a line is not a JSON object; a last
    ///   line cut short (no newline at its end, as a crash mid-write leaves it) is skipped with a
    ///   warning instead.
    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ReportError(file: path, "cannot read the metrics log: \(error.localizedDescription)")
        }
        let endsWithNewline = data.last == UInt8(ascii: "\n")
        let rows = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        lines = []
        warnings = []
        for (index, row) in rows.enumerated() {
            let isLast = index == rows.count - 1
            if row.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(row)) as? [String: Any] else {
                if isLast && !endsWithNewline {
                    warnings.append("\(path):\(index + 1): the last line is cut short (a run that stopped mid-write?); skipped")
                    continue
                }
                throw ReportError(file: path, line: index + 1, "not a JSON object (expected one line of metrics such as {\"step\": 1, \"kl\": 0.01})")
            }
            lines.append(Self.figures(object))
        }
    }

    /// The numeric values of a line. JSON has no NaN: a writer that meant one wrote null or a string.
    static func figures(_ object: [String: Any]) -> [String: Double] {
        var out: [String: Double] = [:]
        for (key, value) in object {
            switch value {
            case let n as NSNumber:
                out[key] = n.doubleValue
            case let s as String:
                switch s.lowercased() {
                case "nan": out[key] = .nan
                case "inf", "infinity", "+inf": out[key] = .infinity
                case "-inf", "-infinity": out[key] = -.infinity
                default: break
                }
            default: break
            }
        }
        return out
    }
}
