import Foundation

/// The chosen samples: each response token by token, every token a `<span>` coloured by its
/// advantage or by its KL to the reference (the page's script switches; without it, advantage),
/// with all its figures in the span's `title` (shown on hover, no script needed).
enum ReportSamplesView {
    /// The per-token figures shown on hover, in this order.
    static let figures = ["advantage", "kl", "logprob", "ref_logprob", "value", "return"]

    static func html(_ samples: [ReportSample]) -> String {
        guard !samples.isEmpty else {
            return "<p class=\"note\">No samples: the run directory holds no experience log to choose them from.</p>\n"
        }
        let advantageScale = scale(samples, "advantage"), klScale = scale(samples, "kl")
        var out = "<div class=\"colour-by\" hidden=\"hidden\">colour by "
        out += "<button type=\"button\" data-by=\"advantage\" aria-pressed=\"true\">advantage</button>"
        out += "<button type=\"button\" data-by=\"kl\" aria-pressed=\"false\">KL</button></div>\n"
        out += "<div class=\"scale by-advantage\">advantage \(legend(advantageScale))</div>\n"
        out += "<div class=\"scale by-kl\">KL (log π − log π_ref) \(legend(klScale))</div>\n"
        for sample in samples {
            out += card(sample, advantageScale: advantageScale, klScale: klScale)
        }
        return out
    }

    private static func card(_ s: ReportSample, advantageScale: Double, klScale: Double) -> String {
        var out = "<article class=\"sample\">\n<h3>\(HTMLText.escape(s.label))</h3>\n"
        let kls = s.perToken["kl"] ?? []
        let klSum = kls.reduce(0.0) { $0 + Double($1) }
        out += "<p class=\"meta\">iteration \(s.iteration) · row \(s.row) · score \(HTMLText.number(Double(s.score)))"
        out += " · \(s.tokens.count) tokens · KL \(HTMLText.number(klSum))</p>\n"
        out += "<div class=\"prompt\">\(HTMLText.escape(s.prompt))</div>\n<div class=\"tokens\">"
        for (j, token) in s.tokens.enumerated() {
            func value(_ name: String) -> Double {
                guard let v = s.perToken[name], j < v.count else { return .nan }
                return Double(v[j])
            }
            let hover = figures.filter { s.perToken[$0] != nil }.map { "\($0) \(HTMLText.number(value($0)))" }.joined(separator: "&#10;")
            let style = "--a:\(colour(value("advantage"), advantageScale));--k:\(colour(value("kl"), klScale))"
            let shown = token.isEmpty ? "∅" : token.replacingOccurrences(of: "\n", with: "↵\n")
            out += "<span style=\"\(style)\" title=\"\(HTMLText.escape(shownTitle(token)))&#10;\(hover)\">\(HTMLText.escape(shown))</span>"
        }
        out += "</div>\n<div class=\"inspect\">&#160;</div>\n</article>\n"
        return out
    }

    /// The token as its tooltip names it: quoted, so spaces and empty tokens are visible.
    private static func shownTitle(_ token: String) -> String {
        "“" + token.replacingOccurrences(of: "\n", with: "\\n") + "”"
    }

    /// The colour scale of a figure: the largest magnitude over all samples (shared, so two
    /// samples' colours compare), or 1 when there is none.
    static func scale(_ samples: [ReportSample], _ name: String) -> Double {
        var largest = 0.0
        for s in samples { for v in s.perToken[name] ?? [] where v.isFinite { largest = max(largest, abs(Double(v))) } }
        return largest > 0 ? largest : 1
    }

    /// Blue for positive, vermilion for negative, stronger the larger; transparent for zero and
    /// for a non-finite value (the hover text says "nan").
    static func colour(_ v: Double, _ scale: Double) -> String {
        guard v.isFinite, scale > 0 else { return "transparent" }
        let strength = min(1, abs(v) / scale) * 0.8
        let rgb = v >= 0 ? "0,114,178" : "213,94,0"
        return "rgba(\(rgb),\(String(format: "%.2f", strength)))"
    }

    private static func legend(_ scale: Double) -> String {
        "<span class=\"ramp\"><span>−\(HTMLText.number(scale))</span><i></i><span>+\(HTMLText.number(scale))</span></span>"
    }
}
