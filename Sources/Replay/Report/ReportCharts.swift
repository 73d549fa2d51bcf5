import Foundation

/// Which charts the report draws from a step-3 run's metrics, and from which keys: one chart
/// per question a person asks of a run (is the reward rising, is the policy drifting, are the
/// updates clipped, is the model getting terse, where does the time go).
enum ReportCharts {
    /// Colours that stay apart for the colour-blind (Okabe–Ito).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F"]

    struct Line {
        var key: String
        var name: String
        var axis: ReportChart.Axis = .left
    }

    struct Group {
        var title: String
        var caption: String
        var lines: [Line]
        var markers = false
    }

    /// The groups read straight from metric keys.
    static let groups: [Group] = [
        // reward/total (score + KL part) is in the table: drawn, it hides under the score.
        Group(title: "Reward", caption: "mean per response; the KL part is −β·KL summed over the response",
              lines: [Line(key: "reward/score", name: "score"), Line(key: "reward/kl", name: "KL part", axis: .right)]),
        Group(title: "KL to the reference", caption: "per response, and the coefficient β",
              lines: [Line(key: "kl", name: "KL"), Line(key: "kl_coef", name: "β", axis: .right)]),
        Group(title: "Policy loss", caption: "clipped surrogate, and the pre-training loss (PPO-ptx)",
              lines: [Line(key: "policy_loss", name: "policy loss"), Line(key: "ptx_loss", name: "ptx loss", axis: .right)]),
        Group(title: "Value loss", caption: "the critic's clipped squared error",
              lines: [Line(key: "value_loss", name: "value loss")]),
        Group(title: "Clipping", caption: "share of tokens clipped, and the policy's approximate KL to its behaviour",
              lines: [Line(key: "policy_clipfrac", name: "policy clip fraction"), Line(key: "value_clipfrac", name: "value clip fraction"),
                      Line(key: "approx_kl", name: "approx KL", axis: .right)]),
        Group(title: "Entropy", caption: "mean −log π of the sampled tokens",
              lines: [Line(key: "entropy", name: "entropy")]),
        Group(title: "Response length", caption: "tokens per response, and the share that never ended",
              lines: [Line(key: "response_length", name: "length"), Line(key: "never_ended", name: "never ended", axis: .right)]),
        Group(title: "Policy lag", caption: "policy versions between the weights that generated a batch and those it trains",
              lines: [Line(key: "policy_lag", name: "lag")]),
        Group(title: "Held-out accuracy", caption: "rule-checked answers to the evaluation prompts",
              lines: [Line(key: "eval/task_accuracy", name: "accuracy")], markers: true),
    ]

    /// Each role's phase time, for tokens per second: response tokens of the batch over the
    /// seconds the role spent on it.
    static let throughput: [(key: String, name: String)] = [
        ("generate_s", "generate (actor)"), ("reference_s", "reference"), ("reward_s", "reward"),
        ("critic_s", "critic"), ("train_s", "train"),
    ]

    /// The charts this run's metrics can fill, in reading order. A group none of whose keys
    /// the run logged is left out (and named in `notLogged`).
    static func charts(_ metrics: [[String: Double]]) -> (charts: [ReportChart], notLogged: [String]) {
        let steps = metrics.enumerated().map { i, line in line["step"] ?? Double(i + 1) }
        func column(_ key: String) -> [(x: Double, y: Double)]? {
            guard metrics.contains(where: { $0[key] != nil }) else { return nil }
            // Keys logged only at some iterations (evaluation) give points only there.
            return zip(steps, metrics).compactMap { x, line in line[key].map { (x, $0) } }
        }
        var charts: [ReportChart] = [], notLogged: [String] = []
        // Every chart spans the whole run, so that one iteration is at the same place in each.
        let stepRange = (steps.min() ?? 0)...(steps.max() ?? 0)
        for group in groups {
            var chart = ReportChart(title: group.title, caption: group.caption, series: [], steps: stepRange)
            for line in group.lines {
                if let points = column(line.key) {
                    chart.series.append(.init(name: line.name, color: palette[chart.series.count % palette.count], axis: line.axis,
                                              points: points, markers: group.markers))
                } else {
                    chart.missing.append(line.name)
                }
            }
            if chart.pointCount > 0 { charts.append(chart) } else { notLogged.append(group.title) }
            if group.title == "Response length" { add(tokensPerSecond(metrics, steps: steps), to: &charts, or: &notLogged) }
        }
        return (charts, notLogged)
    }

    private static func add(_ chart: ReportChart, to charts: inout [ReportChart], or notLogged: inout [String]) {
        if chart.pointCount > 0 { charts.append(chart) } else { notLogged.append(chart.title) }
    }

    static func tokensPerSecond(_ metrics: [[String: Double]], steps: [Double]) -> ReportChart {
        var chart = ReportChart(title: "Throughput", caption: "response tokens per second of each role's phase (log scale)",
                                series: [], steps: (steps.min() ?? 0)...(steps.max() ?? 0), logScale: true)
        for (key, name) in throughput {
            guard metrics.contains(where: { $0[key] != nil }) else { continue }
            let points = zip(steps, metrics).map { x, line -> (x: Double, y: Double) in
                guard let tokens = line["rollout_tokens"], let seconds = line[key], seconds > 0 else { return (x, .nan) }
                return (x, tokens / seconds)
            }
            chart.series.append(.init(name: name, color: palette[chart.series.count % palette.count], points: points))
        }
        if !metrics.contains(where: { $0["rollout_tokens"] != nil }) { chart.missing.append("rollout_tokens") }
        return chart
    }
}
