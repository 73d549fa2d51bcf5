import Foundation

/// The run report: one self-contained HTML file (no network, no server, nothing outside it)
/// that shows a step-3 run: its headline figures, a chart per group of metrics (inline SVG),
/// the iterations table, and chosen samples with every token coloured by advantage or KL.
///
/// Everything from the run is escaped (a decoded token is text, never markup), and a
/// non-finite figure is shown as "nan"/"inf", never drawn: an SVG path only ever holds finite
/// coordinates. The page's one inline script switches the token colouring and checks its own
/// charts (`data-drawn` on each SVG, `data-script="ok"` on the root) for Scripts/check-report.
public enum RunReport {
    /// The report as HTML text.
    /// - Parameters:
    ///   - title: the page's title (the run's name or path).
    ///   - metrics: the lines of the run's metrics.jsonl, each with its `step` (lines are shown
    ///     in step order; a line without one is placed by its position).
    ///   - samples: the responses to show token by token (may be empty).
    public static func html(title: String, metrics: [[String: Double]], samples: [ReportSample]) -> String {
        let lines = metrics.enumerated()
            .map { i, line -> [String: Double] in line["step"] == nil ? line.merging(["step": Double(i + 1)]) { a, _ in a } : line }
            .enumerated().sorted { ($0.element["step"]!, $0.offset) < ($1.element["step"]!, $1.offset) }.map(\.element)
        let (charts, notLogged) = ReportCharts.charts(lines)
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(HTMLText.escape(title)) · run report</title>
            <style>\(ReportPage.style)</style>
            </head>
            <body data-colour="advantage">
            <header>
            <h1>\(HTMLText.escape(title))</h1>
            <nav><a href="#charts">charts</a> · <a href="#iterations">iterations</a> · <a href="#memory">memory</a> · <a href="#samples">samples</a></nav>
            </header>

            """
        out += headline(lines)
        out += "<section id=\"charts\">\n<h2>Curves</h2>\n"
        if charts.isEmpty {
            out += "<p class=\"note\">No metrics to draw: the run logged no iteration yet.</p>\n"
        } else {
            out += "<p class=\"note\">Per iteration; thin lines are the logged values, thick ones their moving average when there are many.</p>\n"
            out += "<div class=\"charts\">\n" + charts.map { $0.html() }.joined() + "</div>\n"
        }
        if !notLogged.isEmpty {
            out += "<p class=\"note\">Not logged in this run: \(HTMLText.escape(notLogged.joined(separator: ", "))).</p>\n"
        }
        out += "</section>\n<section id=\"iterations\">\n<h2>Iterations</h2>\n"
        out += lines.isEmpty ? "<p class=\"note\">No iterations logged.</p>\n" : ReportTable.html(lines)
        out += "</section>\n<section id=\"memory\">\n<h2>Memory</h2>\n"
        out += ReportMemoryTable.html(lines)
        out += "</section>\n<section id=\"samples\">\n<h2>Samples</h2>\n"
        out += ReportSamplesView.html(samples)
        out += "</section>\n<script>\(ReportPage.script)</script>\n</body>\n</html>\n"
        return out
    }

    /// The figures at the top: where the run started and ended.
    static func headline(_ lines: [[String: Double]]) -> String {
        guard !lines.isEmpty else { return "" }
        // Mean of the first and last tenth (at least one line), so one noisy batch does not decide.
        func ends(_ key: String) -> (Double, Double)? {
            let values = lines.compactMap { $0[key] }.filter(\.isFinite)
            guard !values.isEmpty else { return nil }
            let k = max(1, values.count / 10)
            return (values.prefix(k).reduce(0, +) / Double(k), values.suffix(k).reduce(0, +) / Double(k))
        }
        var cards: [(String, String)] = [("iterations", "\(lines.count)")]
        for (key, name) in [("reward/score", "score"), ("eval/task_accuracy", "held-out accuracy"), ("kl", "KL"),
                            ("response_length", "length")] {
            if let (a, b) = ends(key) { cards.append((name, "\(HTMLText.number(a)) → \(HTMLText.number(b))")) }
        }
        let seconds = lines.compactMap { $0["iteration_s"] }.filter(\.isFinite)
        if !seconds.isEmpty {
            let total = seconds.reduce(0, +)
            cards.append(("time", "\(HTMLText.number((total * 10).rounded() / 10)) s · \(HTMLText.number(total / Double(seconds.count))) s/it"))
        }
        var out = "<div class=\"headline\">"
        for (name, value) in cards { out += "<div><span>\(HTMLText.escape(name))</span><b>\(value)</b></div>" }
        return out + "</div>\n<p class=\"note\">first → last tenth of the run (mean).</p>\n"
    }
}
