import Foundation

import Tokenization

/// The findings of `DatasetInspector`, and their text report.
public struct DatasetInspection: Sendable {
    public var path: String
    public var template: ChatFormat
    /// Each file's format (named or detected) and counts.
    public var files: [FileSummary]
    /// Records read (after skipping bad ones).
    public var recordCount: Int
    public var skipped: [SkippedRecord]
    /// "tokens" or "characters".
    public var unit: String
    /// Statistics per part: prompt, response, chosen, rejected, text, total (those present).
    public var lengths: [(part: String, statistics: LengthStatistics)]
    /// What training at the given limits would truncate, when limits and a tokenizer were given.
    public var truncation: TruncationReport?
    /// The first records, rendered with the template.
    public var examples: [(source: SourceLocation, rendered: String)]

    /// Rendered examples longer than this are cut in the report.
    static let renderLimit = 2000

    /// The report `rlhf data inspect` prints.
    public var report: String {
        var out: [String] = ["path:     \(path)"]
        let formats = Set(files.compactMap(\.format))
        if formats.count == 1, let file = files.first(where: { $0.format != nil }), let format = file.format {
            out.append("format:   \(format) (\(file.formatWasNamed ? "named" : "detected from the fields"): \(format.fieldsDescription))")
        } else {
            out.append("formats:")
            for file in files {
                let format = file.format.map { "\($0) (\(file.formatWasNamed ? "named" : "detected"))" } ?? "empty"
                out.append("  \(file.path): \(format), \(file.records) records")
            }
        }
        out.append("records:  \(recordCount)" + (skipped.isEmpty ? "" : " (\(skipped.count) bad records skipped)"))
        if !skipped.isEmpty { out.append(SkippedRecord.report(skipped)) }
        out.append("")
        out.append(row("lengths in \(unit)", ["count", "min", "mean", "p50", "p95", "max"]))
        for (part, s) in lengths {
            out.append(row("  " + part, ["\(s.count)", "\(s.min)", String(format1: s.mean), "\(s.p50)", "\(s.p95)", "\(s.max)"]))
        }
        if let truncation { out.append("truncation: \(truncation)") }
        out.append("")
        out.append("first \(examples.count) record\(examples.count == 1 ? "" : "s") rendered with the \(template.name):")
        for (i, example) in examples.enumerated() {
            out.append("--- \(i + 1) (\(example.source)) ---")
            let text = example.rendered
            out.append(text.count > DatasetInspection.renderLimit
                       ? String(text.prefix(DatasetInspection.renderLimit)) + "... [\(text.count - DatasetInspection.renderLimit) more characters]"
                       : text)
        }
        return out.joined(separator: "\n")
    }

    private func row(_ label: String, _ cells: [String]) -> String {
        label.padding(toLength: 22, withPad: " ", startingAt: 0) + cells.map { String(repeating: " ", count: max(0, 8 - $0.count)) + $0 }.joined()
    }
}
