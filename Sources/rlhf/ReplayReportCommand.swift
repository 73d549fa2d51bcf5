import ArgumentParser
import Foundation
import Replay
import Training

/// `rlhf replay report RUN`: the run's report as one self-contained HTML file (Docs/replay.md, The run report).
struct ReplayReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a run's report: curves, the iterations table and chosen samples, in one HTML file to open offline.")

    @Argument(help: ArgumentHelp("The run directory (it holds metrics.jsonl).", valueName: "run"))
    var directory: String
    @Option(help: "Where to write the report (default: RUN/report.html).")
    var out: String?
    @Option(help: "How many samples to show token by token.")
    var samples = 8

    func run() throws {
        guard samples >= 0 else { throw UsageError("--samples must not be negative, got \(samples)") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("\(directory): no such run directory")
        }
        let metricsPath = (directory as NSString).appendingPathComponent(MetricsLog.fileName)
        let metrics = try RunMetricsFile(path: metricsPath)
        for warning in metrics.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let chosen = try ReportSampleSource.samples(run: directory, count: samples)
        let title = URL(fileURLWithPath: directory).standardizedFileURL.path
        let html = RunReport.html(title: title, metrics: metrics.lines, samples: chosen)
        let path = out ?? (directory as NSString).appendingPathComponent("report.html")
        try Self.writeAtomically(Data(html.utf8), to: path)
        try printJSON(["report": path, "iterations": metrics.lines.count, "samples": chosen.count])
    }

    /// Writes next to `path` and renames over it, so a reader never sees half a report.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw UsageError("--out \(path): cannot write the report (\(error.localizedDescription))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw UsageError("--out \(path): cannot move the report into place (\(reason))")
        }
    }
}
