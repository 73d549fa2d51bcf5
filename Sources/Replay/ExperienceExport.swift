import Foundation
import Model
import Roles
import Training

/// `rlhf replay export`: the log as text for tools outside (pandas, jq, spreadsheets).
///
/// - `jsonl`: one line per sample: ids, the decoded prompt and response, each response token's
///   text, and every per-token field as an array aligned with the tokens.
/// - `csv`: one row per response token, the sample's scalars repeated on each row.
///
/// Floats are written in their shortest form that reads back to the same `Float` bits;
/// non-finite ones as JSON `null` (CSV: `nan`, `inf`, `-inf`).
public enum ExperienceExport {
    public enum Format: String, CaseIterable, Sendable {
        case jsonl, csv
    }

    /// The CSV header line.
    public static var csvHeader: String {
        (["iteration", "batch_id", "sample", "policy_version", "score", "ended", "position", "token_id", "token"]
            + PerTokenFigures.Field.allCases.map(\.rawValue)).joined(separator: ",")
    }

    /// Writes every sample of the log in `format`, a line at a time, to `write`.
    public static func export(_ reader: ExperienceLogReader, format: Format, write: (String) throws -> Void) throws {
        let text = TokenText(logDirectory: reader.directory)
        if format == .csv { try write(csvHeader + "\n") }
        try reader.forEach { record, _ in
            for row in 0..<record.batch.B {
                let s = try SampleDetail(record, row: row)
                switch format {
                case .jsonl: try write(jsonLine(s, record: record, text: text) + "\n")
                case .csv: try write(csvRows(s, record: record, text: text))
                }
            }
            return true
        }
    }

    static func jsonLine(_ s: SampleDetail, record: ExperienceRecord, text: TokenText) -> String {
        var parts: [String] = [
            "\"iteration\":\(s.iteration + 1)", "\"batch_id\":\(record.batch.batchID)", "\"sample\":\(s.row)",
            "\"policy_version\":\(record.batch.policyVersion)", "\"score\":\(json(s.score))", "\"ended\":\(s.ended)",
            "\"prompt\":\(json(text.text(s.prompt)))", "\"response\":\(json(text.text(s.response)))",
            "\"prompt_ids\":[\(s.prompt.map(String.init).joined(separator: ","))]",
            "\"response_ids\":[\(s.response.map(String.init).joined(separator: ","))]",
            "\"tokens\":[\(s.response.map { json(text.piece($0)) }.joined(separator: ","))]",
        ]
        for field in PerTokenFigures.Field.allCases {
            parts.append("\"\(field.rawValue)\":[\(s.perToken[field].map(json).joined(separator: ","))]")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func csvRows(_ s: SampleDetail, record: ExperienceRecord, text: TokenText) -> String {
        var out = ""
        let lead = "\(s.iteration + 1),\(record.batch.batchID),\(s.row),\(record.batch.policyVersion),\(csv(s.score)),\(s.ended ? 1 : 0)"
        for (j, id) in s.response.enumerated() {
            out += lead + ",\(j),\(id),\(csvQuoted(text.piece(id)))"
            for field in PerTokenFigures.Field.allCases { out += "," + csv(s.perToken[field][j]) }
            out += "\n"
        }
        return out
    }

    static func json(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }

    static func csv(_ x: Float) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    /// A JSON string literal (the one the safetensors header writer uses).
    static func json(_ s: String) -> String { jsonQuoted(s) }

    /// A CSV field, quoted (RFC 4180): tokens hold commas, quotes and spaces.
    static func csvQuoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
