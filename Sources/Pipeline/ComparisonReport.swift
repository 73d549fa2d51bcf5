import Foundation

/// The pipeline's closing report: the SFT-versus-RLHF table, a few answers side by side, and
/// where each step wrote; as text for the terminal and as `pipeline_summary.json`.
public struct ComparisonReport: Sendable {
    public let comparison: ModelComparison
    let layout: PipelineLayout
    let spec: PipelineSpec
    let state: PipelineState

    init(comparison: ModelComparison, layout: PipelineLayout, spec: PipelineSpec, state: PipelineState) {
        self.comparison = comparison
        self.layout = layout
        self.spec = spec
        self.state = state
    }

    /// What each step wrote, in step order.
    var outputs: [(String, String)] {
        var list: [(String, String)] = [
            ("tokenizer and random model", layout.initial),
        ]
        if spec.pretrain != nil { list.append(("pre-trained model", layout.base)) }
        list += [
            ("step 1, SFT model", layout.sft), ("step 1's evaluation", layout.sftEvaluation),
            ("step 2, reward model", layout.rewardModel), ("step 2's evaluation", layout.rewardEvaluation),
            ("step 2's per-pair scores", layout.rewardPairs),
            ("step 3, run directory (metrics, checkpoints, role logs)", layout.rl), ("step 3, RLHF model", layout.rlFinal),
            ("step 3's topology", layout.topology), ("step logs", layout.logs),
            ("this table", layout.comparison), ("this table as JSON", layout.summary), ("pipeline state", layout.state),
        ]
        return list
    }

    /// The table, `show` answers side by side, and the outputs.
    public func text(show: Int) -> String {
        let c = comparison
        func percent(_ f: ModelComparison.Figures) -> String {
            f.accuracy.map { String(format: "%.1f%% (%d/%d)", 100 * $0, f.right, f.checked) } ?? "-"
        }
        let rows: [(String, String, String)] = [
            ("rule-checked accuracy", percent(c.sft), percent(c.rlhf)),
            ("mean reward-model score", String(format: "%.3f", c.sft.meanReward), String(format: "%.3f", c.rlhf.meanReward)),
            ("KL to the SFT model (nats/answer)", String(format: "%.3f", c.sft.meanKL), String(format: "%.3f", c.rlhf.meanKL)),
            ("mean answer length (tokens)", String(format: "%.1f", c.sft.meanAnswerTokens), String(format: "%.1f", c.rlhf.meanAnswerTokens)),
        ]
        let w0 = rows.map(\.0.count).max()!, w1 = max(20, rows.map(\.1.count).max()!)
        func pad(_ s: String, _ w: Int) -> String { s.padding(toLength: max(w, s.count), withPad: " ", startingAt: 0) }
        var lines = ["", "SFT against RLHF: greedy answers to \(c.prompts) held-out prompts (\(spec.evaluation.prompts))",
                     "  " + pad("", w0) + "  " + pad("SFT", w1) + "  RLHF"]
        for (name, a, b) in rows { lines.append("  " + pad(name, w0) + "  " + pad(a, w1) + "  " + b) }
        if c.sft.checked == 0 { lines.append("  (no prompt is a demo task the rule checker knows: accuracy is not measured)") }
        let shown = c.samples.prefix(show)
        if !shown.isEmpty { lines += ["", "answers side by side (the first \(shown.count)):"] }
        for s in shown {
            func mark(_ v: String?) -> String { v.map { "  [\($0)]" } ?? "" }
            lines.append("  prompt: \(s.prompt)")
            lines.append("    SFT:  \(s.sft)\(mark(s.sftVerdict))")
            lines.append("    RLHF: \(s.rlhf)\(mark(s.rlhfVerdict))")
        }
        lines += ["", "written:"]
        let w = outputs.map(\.0.count).max()!
        for (what, path) in outputs { lines.append("  " + pad(what, w) + "  " + path) }
        return lines.joined(separator: "\n")
    }

    /// `pipeline_summary.json`: the figures, every answer pair, the outputs and each step's time.
    func writeJSON(_ path: String) throws {
        struct Summary: Encodable {
            var prompts: Int
            var promptsFile: String
            var sft: ModelComparison.Figures
            var rlhf: ModelComparison.Figures
            var samples: [ModelComparison.Sample]
            var outputs: [String: String]
            var stepSeconds: [String: Double]
            enum CodingKeys: String, CodingKey {
                case prompts, sft, rlhf, samples, outputs
                case promptsFile = "prompts_file"
                case stepSeconds = "step_seconds"
            }
        }
        let c = comparison
        let summary = Summary(prompts: c.prompts, promptsFile: spec.evaluation.prompts, sft: c.sft, rlhf: c.rlhf, samples: c.samples,
                              outputs: Dictionary(outputs.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a }),
                              stepSeconds: state.steps.compactMapValues(\.seconds))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(summary).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The comparison saved in a `pipeline_summary.json` (when a rerun skips the last step).
    static func read(_ path: String) throws -> ModelComparison {
        struct Saved: Decodable {
            var prompts: Int
            var sft: ModelComparison.Figures
            var rlhf: ModelComparison.Figures
            var samples: [ModelComparison.Sample]
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let s = try decoder.decode(Saved.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        return ModelComparison(prompts: s.prompts, sft: s.sft, rlhf: s.rlhf, samples: s.samples)
    }
}
