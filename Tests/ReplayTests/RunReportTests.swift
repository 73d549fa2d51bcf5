import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Replay
import XCTest

/// The run report on tiny metrics: well-formed, every chart with points, run text escaped,
/// non-finite figures never inside a drawing.
final class RunReportTests: XCTestCase {
    /// Five PPO-like iterations, an evaluation at the last.
    private func ppoMetrics(_ n: Int = 5) -> [[String: Double]] {
        (1...n).map { i in
            let x = Double(i)
            var line: [String: Double] = [
                "step": x, "reward/score": 0.5 + 0.1 * x, "reward/kl": -0.001 * x, "reward/total": 0.5 + 0.099 * x,
                "kl": 0.01 * x, "kl_coef": 0.1, "entropy": 1 - 0.05 * x, "response_length": 4 + x, "never_ended": 0,
                "policy_loss": -0.1 * x, "value_loss": 2 / x, "ptx_loss": 3, "policy_clipfrac": 0.01 * x, "value_clipfrac": 0.2,
                "approx_kl": 1e-4 * x, "actor_grad_norm": 10, "generate_s": 0.2, "reference_s": 0.05, "reward_s": 0.04,
                "critic_s": 0.06, "train_s": 0.3, "iteration_s": 0.5, "messaging_s": 0.01, "rollout_tokens": 130 + x,
                "policy_lag": 0, "policy_version": x,
            ]
            if i == n { line["eval/task_accuracy"] = 0.4 }
            return line
        }
    }

    private func sample(tokens: [String], label: String = "highest reward", prompt: String = "What is 2+3?") -> ReportSample {
        let n = tokens.count
        return ReportSample(iteration: 3, row: 1, label: label, prompt: prompt, tokens: tokens,
                            perToken: ["advantage": (0..<n).map { Float($0) - 1 }, "kl": (0..<n).map { 0.01 * Float($0) },
                                       "logprob": Array(repeating: -1, count: n), "ref_logprob": Array(repeating: -1.1, count: n),
                                       "value": Array(repeating: 0.3, count: n), "return": Array(repeating: 1, count: n)],
                            score: 1)
    }

    /// The `<svg ...>...</svg>` elements of a page.
    private func svgs(_ html: String) -> [String] {
        html.components(separatedBy: "<svg ").dropFirst().map { $0.components(separatedBy: "</svg>")[0] }
    }

    /// The values of attribute `name` in `text`.
    private func attributes(_ name: String, in text: String) -> [String] {
        text.components(separatedBy: " \(name)=\"").dropFirst().map { $0.components(separatedBy: "\"")[0] }
    }

    func testReport_isWellFormedMarkup() throws {
        let html = RunReport.html(title: "runs/demo", metrics: ppoMetrics(), samples: [sample(tokens: ["▁5", " is", "\n", "", "</s>"])])
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(html.components(separatedBy: "<script").count, 2, "one script, inline")
        XCTAssertFalse(html.contains("src="), "nothing loaded from outside")
        XCTAssertFalse(html.contains("http"), "no address of any kind")
        // Script and style are raw text in HTML; the rest must parse as XML (every tag closed).
        var markup = html
        for tag in ["script", "style"] {
            let parts = markup.components(separatedBy: "<\(tag)>")
            XCTAssertEqual(parts.count, 2)
            markup = parts[0] + "<\(tag)></\(tag)>" + parts[1].components(separatedBy: "</\(tag)>")[1]
        }
        #if canImport(FoundationXML)
        let document = try XMLDocument(xmlString: markup, options: [])
        XCTAssertEqual(document.rootElement()?.name, "html")
        let charts = try document.nodes(forXPath: "//svg")
        XCTAssertGreaterThanOrEqual(charts.count, 9, "reward, KL, policy loss, value loss, clipping, entropy, length, throughput, lag, accuracy")
        let spans = try document.nodes(forXPath: "//div[@class='tokens']/span")
        XCTAssertEqual(spans.count, 5, "one span per token")
        #else
        throw XCTSkip("FoundationXML is not available")
        #endif
    }

    func testReport_showsEachRolesPeakMemoryBesideItsTensors() {
        var metrics = ppoMetrics(2)
        metrics[1]["memory_actor_peak_mb"] = 250.5
        metrics[1]["memory_actor_tensors_mb"] = 286.4
        metrics[1]["memory_reward_peak_mb"] = 36.5
        let html = RunReport.html(title: "t", metrics: metrics, samples: [])
        XCTAssertTrue(html.contains("<td>actor</td><td>250.5</td><td>286.4</td><td>0.87</td>"), html)
        XCTAssertTrue(html.contains("<td>reward</td><td>36.5</td><td></td><td></td>"), html)
        XCTAssertTrue(RunReport.html(title: "t", metrics: ppoMetrics(2), samples: []).contains("No memory figures logged"))
    }

    func testReport_everyChartPlotsItsPoints() throws {
        let html = RunReport.html(title: "t", metrics: ppoMetrics(), samples: [])
        let charts = svgs(html)
        XCTAssertGreaterThanOrEqual(charts.count, 9)
        for chart in charts {
            let points = Int(attributes("data-points", in: " " + chart).first ?? "") ?? 0
            XCTAssertGreaterThan(points, 0, "a chart without points: \(chart.prefix(120))")
            let drawn = attributes("d", in: chart).map { $0.filter { $0 == "M" || $0 == "L" }.count }.reduce(0, +)
                + chart.components(separatedBy: "<circle").count - 1
            XCTAssertGreaterThanOrEqual(drawn, points, "every point is on a path or a dot")
        }
        XCTAssertTrue(html.contains(">Held-out accuracy<"))
        XCTAssertTrue(html.contains(">Throughput<"))
    }

    func testReport_escapesTokensPromptsAndLabels() {
        let attack = "<script>alert(1)</script>"
        let html = RunReport.html(title: "<b>run</b>", metrics: ppoMetrics(2),
                                  samples: [sample(tokens: ["a", attack, "\" onmouseover=\"alert(2)", "&amp;"], label: attack, prompt: "<img src=x>")])
        XCTAssertFalse(html.contains(attack))
        XCTAssertEqual(html.components(separatedBy: "<script").count, 2, "only the page's own script")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertFalse(html.contains("<img"))
        XCTAssertFalse(html.contains("\" onmouseover=\""))
        XCTAssertTrue(html.contains("&amp;amp;"), "an entity in a token is shown as typed")
        XCTAssertFalse(html.contains("<b>run</b>"))
    }

    func testReport_nonFiniteFiguresNeverReachADrawing() {
        var metrics = ppoMetrics(6)
        metrics[2]["kl"] = .nan
        metrics[3]["reward/score"] = .infinity
        metrics[1]["entropy"] = -.infinity
        for key in metrics[4].keys where key != "step" { metrics[4][key] = .nan }
        let html = RunReport.html(title: "t", metrics: metrics, samples: [sample(tokens: ["x", "y"])])
        for chart in svgs(html) {
            for coordinate in attributes("d", in: chart) + attributes("cx", in: chart) + attributes("cy", in: chart)
                + attributes("y", in: chart) + attributes("x", in: chart) {
                XCTAssertNil(coordinate.range(of: "nan|inf", options: [.regularExpression, .caseInsensitive]), "\(coordinate)")
            }
            XCTAssertFalse(chart.contains("NaN"))
        }
        XCTAssertTrue(html.contains("<td>nan</td>"), "the table says nan")
        XCTAssertTrue(html.contains("<td>inf</td>"))
        // A gap, not a line through the missing points: the KL line restarts after iterations 3 and 5.
        let kl = svgs(html).first { $0.contains("<title>KL to the reference</title>") }
        let klPath = attributes("d", in: kl ?? "").first ?? ""
        XCTAssertEqual(klPath.components(separatedBy: "M").count - 1, 3, klPath)
        XCTAssertEqual(klPath.filter { $0 == "M" || $0 == "L" }.count, 4, "six iterations, two of them nan")
    }

    func testReport_figuresARunDidNotLogAreLeftOut() {
        // GRPO logs no value loss, value clip fraction or critic time.
        let metrics = ppoMetrics().map { line in line.filter { !["value_loss", "value_clipfrac", "critic_s"].contains($0.key) } }
        let html = RunReport.html(title: "grpo", metrics: metrics, samples: [])
        XCTAssertFalse(html.contains("<b>Value loss</b>"))
        XCTAssertTrue(html.contains("Not logged in this run: Value loss"))
        XCTAssertTrue(html.contains("value clip fraction: not logged"))
        XCTAssertFalse(html.contains("data-points=\"0\""))
        XCTAssertFalse(html.contains("</i>critic<"), "no throughput line for a role that did not run")
        XCTAssertTrue(html.contains("</i>generate (actor)<"))
    }

    func testSampleTokens_carryTheirFiguresOnHover_andAColourPerMode() {
        var s = sample(tokens: ["a", "b", "c"])
        s.perToken["value"] = [0.25]  // shorter than the tokens: the others have no value
        s.perToken["kl"] = [0.5, .nan, -0.5]
        let html = RunReport.html(title: "t", metrics: [], samples: [s])
        let spans = html.components(separatedBy: "<div class=\"tokens\">")[1].components(separatedBy: "</div>")[0]
            .components(separatedBy: "<span ").dropFirst()
        XCTAssertEqual(spans.count, 3)
        let first = spans.first ?? "", second = spans.dropFirst().first ?? ""
        XCTAssertTrue(first.contains("title=\"“a”&#10;advantage -1&#10;kl 0.5&#10;logprob -1&#10;ref_logprob -1.1&#10;value 0.25&#10;return 1\""), first)
        XCTAssertTrue(second.contains("kl nan") && second.contains("value nan"), second)
        XCTAssertTrue(second.contains("--k:transparent"), "a nan KL is not coloured")
        XCTAssertTrue(first.contains("--a:rgba(213,94,0,0.80)"), "the most negative advantage is full vermilion: \(first)")
        XCTAssertTrue(html.contains("<body data-colour=\"advantage\">"), "coloured by advantage without the script")
    }

    func testReport_withoutMetricsOrSamplesStillMakesAPage() {
        let html = RunReport.html(title: "empty", metrics: [], samples: [])
        XCTAssertTrue(svgs(html).isEmpty)
        XCTAssertTrue(html.contains("No iterations logged"))
        XCTAssertTrue(html.contains("</html>"))
    }
}
