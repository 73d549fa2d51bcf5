import Dispatch
import Foundation
import Training

/// The figures logged for each iteration from its batch of experiences (the trainers add
/// their losses): what DeepSpeed-Chat and trl log, named as trl names them where it does.
enum IterationMetrics {
    static func of(_ batch: ExperienceBatch, config: RLAlgorithmConfig) -> [String: Double] {
        let B = Double(max(1, batch.B)), R = batch.responseWidth
        var score = 0.0, klReward = 0.0, length = 0.0, neverEnded = 0.0, negLogProb = 0.0
        for b in 0..<batch.B {
            score += Double(batch.scores[b])
            let n = Int(batch.responseLengths[b])
            length += Double(n)
            if batch.ended[b] == 0 { neverEnded += 1 }
            for j in 0..<n {
                klReward += Double(batch.klRewards[b * R + j])
                negLogProb -= Double(batch.behaviourLogProbs[b * R + j])
            }
        }
        let tokens = Double(max(1, batch.responseTokenCount))
        return [
            "reward/score": score / B,
            "reward/kl": klReward / B,
            "reward/total": (score + klReward) / B,
            "kl": batch.meanSequenceKL(estimator: .k1),
            // The mean of -log π(a) over sampled tokens: a Monte Carlo estimate of the sampling
            // distribution's entropy, free because the generator records log π(a).
            "entropy": negLogProb / tokens,
            "response_length": length / B,
            "never_ended": neverEnded / B,
            "rollout_tokens": tokens,
        ]
    }

    static func summary(iteration: Int, of total: Int, _ m: [String: Double], eta: Double) -> String {
        var s = String(format: "iteration %d/%d  score %.3f  kl %.4f  len %.1f", iteration, total,
                       m["reward/score"] ?? 0, m["kl"] ?? 0, m["response_length"] ?? 0)
        if let v = m["policy_loss"] { s += String(format: "  pg_loss %.4f", v) }
        if let v = m["value_loss"] { s += String(format: "  vf_loss %.4f", v) }
        if let v = m["policy_clipfrac"] { s += String(format: "  clip %.3f", v) }
        if let v = m["iteration_s"] { s += String(format: "  %.1fs/it", v) }
        if let v = m["eval/task_accuracy"] { s += String(format: "  held-out accuracy %.3f", v) }
        s += "  ETA " + ProgressDisplay.clock(eta)
        return s
    }
}

/// Seconds per iteration so far, for the ETA.
struct ProgressClock {
    private let start = DispatchTime.now().uptimeNanoseconds
    private let total: Int
    private var done = 0

    init(total: Int) { self.total = total }

    mutating func tick() { done += 1 }

    var eta: Double {
        guard done > 0 else { return 0 }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return elapsed / Double(done) * Double(total - done)
    }
}
