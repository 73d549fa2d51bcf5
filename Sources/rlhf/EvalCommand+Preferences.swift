import ArgumentParser
import Datasets
import Foundation
import Model
import Training

// MARK: - eval rm

struct EvalRM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Pair accuracy, margin and the distribution of a reward model's scores.")

    @Option(help: "The reward model directory (LlamaForSequenceClassification).") var model: String
    @OptionGroup var data: EvalDataOptions
    @Option(help: "Also write every pair's scores to this JSONL file (file, line, task, mistake, chosen, rejected, margin), to see which pairs the model gets wrong.")
    var output: String?

    func run() throws {
        let outputPath = output.map { ($0 as NSString).expandingTildeInPath }
        if let outputPath {
            // Checked before scoring, so a long evaluation is not lost to a typo in the path.
            let directory = (outputPath as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory, isDirectory: &isDirectory),
                  isDirectory.boolValue else {
                throw UsageError("--output \(outputPath): the directory \(directory) does not exist")
            }
        }
        var evalData = try data.data(model: model, stage: .rm)
        let examples = try evalData.preferenceExamples(evalData.records.train, what: "eval")
        let rm = try loadTrainedModel(model)
        guard rm.layout.head == .score(labels: 1) else {
            throw ValidationError("\(model) is a \(rm.config.architecture), not a reward model with one label")
        }
        let scores = Evaluation.rewardScores(model: rm, examples: examples, batchSize: data.batchSize,
                                             padID: evalData.tokenizer.paddingID, pool: ActivationPool(model: rm))
        print(String(format: "%d pairs: accuracy %.4f  mean margin %.4f  loss %.4f", examples.count, scores.accuracy, scores.meanMargin, scores.loss))
        var summary: [String: Any] = ["pairs": examples.count, "accuracy": scores.accuracy, "mean_margin": scores.meanMargin, "loss": scores.loss]
        for (name, values) in [("chosen", scores.chosen), ("rejected", scores.rejected)] {
            let s = values.sorted()
            let mean = s.reduce(0) { $0 + Double($1) } / Double(s.count)
            let std = (s.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(s.count)).squareRoot()
            func q(_ p: Double) -> Double { Double(s[min(s.count - 1, Int(p * Double(s.count - 1)))]) }
            print(String(format: "%@ scores: mean %.3f  std %.3f  min %.3f  p10 %.3f  median %.3f  p90 %.3f  max %.3f",
                         name.padding(toLength: 8, withPad: " ", startingAt: 0), mean, std, q(0), q(0.1), q(0.5), q(0.9), q(1)))
            summary["\(name)_mean"] = mean
            summary["\(name)_std"] = std
        }
        printHistogram(scores)
        let labels = recordLabels(examples.map(\.source), fields: ["task", "mistake"])
        for (field, title) in [("task", "task"), ("mistake", "task and mistake")] where labels.contains(where: { $0[field] != nil }) {
            // Mistakes are named within their task ("add: off by one").
            let keys = labels.map { field == "task" ? ($0["task"] ?? "?") : "\($0["task"] ?? "?"): \($0["mistake"] ?? "?")" }
            var counts: [String: (right: Int, all: Int)] = [:]
            for (i, key) in keys.enumerated() {
                let right = scores.chosen[i] > scores.rejected[i] ? 1 : 0
                counts[key] = ((counts[key]?.right ?? 0) + right, (counts[key]?.all ?? 0) + 1)
            }
            let accuracy = counts.mapValues { Double($0.right) / Double($0.all) }
            let parts = counts.keys.sorted().map { String(format: "%@ %.3f (%d)", $0, accuracy[$0]!, counts[$0]!.all) }
            print("accuracy by \(title): " + parts.joined(separator: field == "task" ? "  " : "\n  "))
            summary["accuracy_by_\(field)"] = accuracy
        }
        if let outputPath {
            try writePairScores(to: outputPath, examples: examples, scores: scores, labels: labels)
            print("per-pair scores: \(outputPath)")
        }
        try printJSON(summary)
    }

    /// One JSON line per pair, in the order of the data, written to a temporary file and renamed.
    private func writePairScores(to path: String, examples: [PreferenceExample], scores: Evaluation.RewardScores,
                                 labels: [[String: String]]) throws {
        var text = ""
        for (i, example) in examples.enumerated() {
            var line: [String: Any] = ["file": example.source.file, "line": example.source.line,
                                       "chosen": Double(scores.chosen[i]), "rejected": Double(scores.rejected[i]),
                                       "margin": Double(scores.chosen[i] - scores.rejected[i])]
            for (field, value) in labels[i] { line[field] = value }
            text += try jsonLine(line) + "\n"
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw UsageError("--output \(path): cannot write the per-pair scores (\(error.localizedDescription))")
        }
    }

    /// Ten bins over the range of all scores, chosen and rejected counts side by side.
    private func printHistogram(_ scores: Evaluation.RewardScores) {
        let all = scores.chosen + scores.rejected
        guard let lo = all.min(), let hi = all.max(), hi > lo else { return }
        let bins = 10
        func counts(_ x: [Float]) -> [Int] {
            var c = [Int](repeating: 0, count: bins)
            for v in x { c[min(bins - 1, Int(Float(bins) * (v - lo) / (hi - lo)))] += 1 }
            return c
        }
        let c = counts(scores.chosen), r = counts(scores.rejected)
        let scale = Double(max(c.max()!, r.max()!)) / 30
        print("score histogram (c = chosen, r = rejected):")
        for b in 0..<bins {
            let from = lo + (hi - lo) * Float(b) / Float(bins)
            let bar = { (n: Int, ch: String) in String(repeating: ch, count: Int((Double(n) / max(scale, 1e-9)).rounded(.up))) }
            print(String(format: "  %8.3f  %@  %4d c  %4d r  %@", from, bar(c[b], "c").padding(toLength: 31, withPad: " ", startingAt: 0), c[b], r[b], bar(r[b], "r")))
        }
    }
}

// MARK: - eval dpo

struct EvalDPO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo", abstract: "DPO reward accuracy and margins of a policy against its reference.")

    @Option(help: "The trained policy directory.") var model: String
    @Option(help: "The reference model directory (the policy's starting point).") var ref: String
    @Option(help: "DPO beta.") var beta = 0.1
    @Option(name: .customLong("loss_type"), help: "sigmoid or ipo.") var lossType = "sigmoid"
    @OptionGroup var data: EvalDataOptions

    func run() throws {
        guard let type = Losses.PreferenceLossType(rawValue: lossType) else { throw ValidationError("--loss_type must be sigmoid or ipo") }
        var evalData = try data.data(model: model, stage: .dpo)
        let examples = try evalData.preferenceExamples(evalData.records.train, what: "eval")
        let policy = try loadTrainedModel(model), reference = try loadTrainedModel(ref)
        let pool = ActivationPool(model: policy)
        let pad = evalData.tokenizer.paddingID
        let p = Evaluation.answerLogProbs(model: policy, examples: examples, average: type == .ipo, batchSize: data.batchSize, padID: pad, pool: pool)
        let r = Evaluation.answerLogProbs(model: reference, examples: examples, average: type == .ipo, batchSize: data.batchSize, padID: pad, pool: pool)
        let result = Losses.preference(policyChosen: p.chosen, policyRejected: p.rejected, referenceChosen: r.chosen,
                                       referenceRejected: r.rejected, beta: beta, type: type, normalizer: Double(examples.count))
        let n = Double(examples.count)
        let accuracy = Double(zip(result.chosenRewards, result.rejectedRewards).filter { $0 > $1 }.count) / n
        let margin = zip(result.chosenRewards, result.rejectedRewards).reduce(0) { $0 + Double($1.0 - $1.1) } / n
        let mean = { (x: [Float]) in x.reduce(0) { $0 + Double($1) } / n }
        // The margin of log-probabilities under each model shows what DPO changed.
        let policyGap = zip(p.chosen, p.rejected).reduce(0) { $0 + Double($1.0 - $1.1) } / n
        let referenceGap = zip(r.chosen, r.rejected).reduce(0) { $0 + Double($1.0 - $1.1) } / n
        print(String(format: "%d pairs: reward accuracy %.4f  reward margin %.4f  loss %.4f", examples.count, accuracy, margin, result.loss))
        print(String(format: "log p(chosen) - log p(rejected): policy %.3f, reference %.3f", policyGap, referenceGap))
        try printJSON(["pairs": examples.count, "rewards/accuracies": accuracy, "rewards/margins": margin, "loss": result.loss,
                       "rewards/chosen": mean(result.chosenRewards), "rewards/rejected": mean(result.rejectedRewards),
                       "policy_logp_gap": policyGap, "reference_logp_gap": referenceGap])
    }
}
