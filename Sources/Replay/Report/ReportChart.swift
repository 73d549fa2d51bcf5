import Foundation

/// One chart of the report: a few series against the iteration, on a left axis and optionally
/// a right one (for a figure of another scale, such as the KL part of the reward beside the
/// score), drawn as inline SVG. Non-finite values leave a gap in their line; a series with no
/// finite value is listed as "not logged" and not drawn; a chart with nothing to draw is not
/// built at all (`ReportCharts` leaves it out), so every SVG the report holds has points.
struct ReportChart {
    enum Axis { case left, right }

    struct Series {
        var name: String
        var color: String
        var axis: Axis = .left
        /// (step, value) in step order; values may be non-finite (gaps).
        var points: [(x: Double, y: Double)]
        /// Sparse series (held-out accuracy every N iterations) are drawn with a dot at each point.
        var markers = false

        var finite: [(x: Double, y: Double)] { points.filter { $0.x.isFinite && $0.y.isFinite } }
    }

    var title: String
    /// What the chart shows, one line under the title.
    var caption: String
    var series: [Series]
    /// Names of the group's figures this run did not log.
    var missing: [String] = []
    /// The iterations the x axis spans (the whole run, whatever this chart's series cover).
    var steps: ClosedRange<Double>? = nil
    /// A logarithmic y axis, for figures that differ by orders of magnitude (tokens/s of a rule
    /// reward against a model's); values at or below zero are gaps there.
    var logScale = false

    static let width = 380.0, height = 190.0
    private static let top = 8.0, bottom = 22.0, sideWithAxis = 44.0, sideWithout = 10.0

    /// The number of finite points the chart plots (0: there is nothing to draw).
    var pointCount: Int { series.reduce(0) { $0 + $1.finite.count } }

    /// The chart as an HTML figure: title, legend, SVG.
    func html() -> String {
        let plotted = !logScale ? series : series.map { s in
            var s = s
            s.points = s.points.map { p in (p.x, p.y > 0 ? log10(p.y) : .nan) }
            return s
        }
        let drawn = plotted.filter { !$0.finite.isEmpty }
        let notLogged = missing + series.filter { $0.finite.isEmpty }.map(\.name)
        var out = "<figure class=\"chart\">\n<figcaption><b>\(HTMLText.escape(title))</b> <span class=\"caption\">\(HTMLText.escape(caption))</span></figcaption>\n"
        out += "<div class=\"legend\">"
        for s in drawn {
            let side = s.axis == .right && drawn.contains { $0.axis == .left } ? " (right axis)" : ""
            out += "<span><i style=\"background:\(s.color)\"></i>\(HTMLText.escape(s.name + side))</span>"
        }
        for name in notLogged { out += "<span class=\"absent\">\(HTMLText.escape(name)): not logged</span>" }
        out += "</div>\n"
        out += svg(drawn)
        out += "</figure>\n"
        return out
    }

    private func svg(_ drawn: [Series]) -> String {
        let W = Self.width, H = Self.height
        let hasLeft = drawn.contains { $0.axis == .left }, hasRight = drawn.contains { $0.axis == .right }
        // A chart whose only series are on the right axis draws them on the left one.
        let rightAxisUsed = hasLeft && hasRight
        let left = Self.sideWithAxis, right = W - (rightAxisUsed ? Self.sideWithAxis : Self.sideWithout)
        let top = Self.top, bottom = H - Self.bottom
        let xs = drawn.flatMap { $0.finite.map(\.x) } + (steps.map { [$0.lowerBound, $0.upperBound] } ?? [])
        let xTicks = AxisTicks.covering(xs.min() ?? 0, xs.max() ?? 1, count: 6)
        // The x axis ends at the last step rather than at a rounded tick past it.
        let xLow = xs.min() ?? 0, xHigh = (xs.max() ?? 1) > xLow ? xs.max()! : xLow + 1
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * (right - left) }
        func ticks(_ axis: Axis) -> AxisTicks? {
            let ys = drawn.filter { (rightAxisUsed ? $0.axis : .left) == axis }.flatMap { $0.finite.map(\.y) }
            guard let lo = ys.min(), let hi = ys.max() else { return nil }
            return logScale ? AxisTicks.decades(lo, hi) : AxisTicks.covering(lo, hi, count: 5)
        }
        let yLeft = ticks(.left), yRight = rightAxisUsed ? ticks(.right) : nil
        func py(_ y: Double, _ t: AxisTicks) -> Double { bottom - (y - t.low) / (t.high - t.low) * (bottom - top) }

        let points = drawn.reduce(0) { $0 + $1.finite.count }
        var out = "<svg viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" data-points=\"\(points)\">"
        out += "<title>\(HTMLText.escape(title))</title>"
        // Grid and left tick labels.
        if let yLeft {
            for v in yLeft.values {
                let y = HTMLText.coordinate(py(v, yLeft))
                out += "<line class=\"grid\" x1=\"\(HTMLText.coordinate(left))\" x2=\"\(HTMLText.coordinate(right))\" y1=\"\(y)\" y2=\"\(y)\"/>"
                out += "<text class=\"tick\" x=\"\(HTMLText.coordinate(left - 4))\" y=\"\(y)\" text-anchor=\"end\" dy=\"3\">\(HTMLText.escape(label(v, yLeft)))</text>"
            }
        }
        if let yRight, let color = drawn.first(where: { $0.axis == .right })?.color {
            for v in yRight.values {
                let y = HTMLText.coordinate(py(v, yRight))
                out += "<text class=\"tick\" x=\"\(HTMLText.coordinate(right + 4))\" y=\"\(y)\" dy=\"3\" fill=\"\(color)\">\(HTMLText.escape(label(v, yRight)))</text>"
            }
        }
        for v in xTicks.values where v >= xLow && v <= xHigh {
            let x = HTMLText.coordinate(px(v))
            out += "<line class=\"axis\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(HTMLText.coordinate(bottom))\" y2=\"\(HTMLText.coordinate(bottom + 3))\"/>"
            out += "<text class=\"tick\" x=\"\(x)\" y=\"\(HTMLText.coordinate(bottom + 14))\" text-anchor=\"middle\">\(HTMLText.escape(Self.label(v, xTicks)))</text>"
        }
        out += "<line class=\"axis\" x1=\"\(HTMLText.coordinate(left))\" x2=\"\(HTMLText.coordinate(right))\" y1=\"\(HTMLText.coordinate(bottom))\" y2=\"\(HTMLText.coordinate(bottom))\"/>"
        // The lines.
        for s in drawn {
            guard let t = (rightAxisUsed && s.axis == .right) ? yRight : yLeft else { continue }
            let smooth = !s.markers && s.finite.count >= 30
            let raw = Self.path(s.points) { (px($0), py($1, t)) }
            out += "<path class=\"\(smooth ? "raw" : "line")\" stroke=\"\(s.color)\" d=\"\(raw)\" data-series=\"\(HTMLText.escape(s.name))\"/>"
            if smooth {
                out += "<path class=\"line\" stroke=\"\(s.color)\" d=\"\(Self.path(Self.smoothed(s.points)) { (px($0), py($1, t)) })\"/>"
            }
            // Dots where a line cannot show a point: sparse series, and points alone between gaps.
            for (i, p) in s.points.enumerated() where p.x.isFinite && p.y.isFinite {
                let alone = (i == 0 || !s.points[i - 1].y.isFinite) && (i + 1 == s.points.count || !s.points[i + 1].y.isFinite)
                guard s.markers || alone else { continue }
                out += "<circle cx=\"\(HTMLText.coordinate(px(p.x)))\" cy=\"\(HTMLText.coordinate(py(p.y, t)))\" r=\"2.5\" fill=\"\(s.color)\">"
                out += "<title>\(HTMLText.escape("\(s.name) at \(HTMLText.number(p.x)): \(HTMLText.number(p.y))"))</title></circle>"
            }
        }
        out += "</svg>\n"
        return out
    }

    /// An SVG path through the finite points: a non-finite value ends the current run of lines,
    /// the next finite one starts a new one with `M`.
    static func path(_ points: [(x: Double, y: Double)], _ place: (Double, Double) -> (Double, Double)) -> String {
        var d = "", pen = false
        for p in points {
            guard p.x.isFinite, p.y.isFinite else { pen = false; continue }
            let (x, y) = place(p.x, p.y)
            guard x.isFinite, y.isFinite else { pen = false; continue }
            d += (pen ? "L" : (d.isEmpty ? "M" : " M")) + HTMLText.coordinate(x) + "," + HTMLText.coordinate(y)
            pen = true
        }
        return d
    }

    /// TensorBoard's smoothing: an exponential moving average with weight 0.8, corrected for its
    /// start at zero, over the finite values (gaps stay gaps).
    static func smoothed(_ points: [(x: Double, y: Double)], weight: Double = 0.8) -> [(x: Double, y: Double)] {
        var last = 0.0, n = 0
        return points.map { p in
            guard p.y.isFinite else { return p }
            last = last * weight + (1 - weight) * p.y
            n += 1
            return (p.x, last / (1 - pow(weight, Double(n))))
        }
    }

    /// A tick's label with as many decimals as the tick spacing needs.
    func label(_ v: Double, _ t: AxisTicks) -> String {
        logScale ? Self.compact(pow(10, v)) : Self.label(v, t)
    }

    /// 2000 as "2k", 100000 as "100k": short labels for a log axis.
    static func compact(_ v: Double) -> String {
        let (scaled, suffix) = v >= 1e9 ? (v / 1e9, "G") : v >= 1e6 ? (v / 1e6, "M") : v >= 1e3 ? (v / 1e3, "k") : (v, "")
        let rounded = (scaled * 100).rounded() / 100
        return (rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%g", rounded)) + suffix
    }

    static func label(_ v: Double, _ t: AxisTicks) -> String {
        let step = t.values.count > 1 ? abs(t.values[1] - t.values[0]) : 1
        if v == 0 { return "0" }
        if abs(v) >= 1e5 || abs(v) < 1e-4 { return String(format: "%.1e", v) }
        var decimals = 0
        while decimals < 6, abs(step * pow(10, Double(decimals)) - (step * pow(10, Double(decimals))).rounded()) > 1e-6 { decimals += 1 }
        return String(format: "%.\(decimals)f", v)
    }
}
