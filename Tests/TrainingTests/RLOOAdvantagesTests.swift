import Training
import XCTest

/// RLOO's advantages when the reward model's scores go past PPO's clip of 5: trl's RLOOTrainer
/// subtracts β Σ_t (log π_old - log π_ref) from the raw score, then takes the leave-one-out
/// baseline within each prompt's answers; clipping is an option it leaves off.
final class RLOOAdvantagesTests: XCTestCase {
    private static let beta = 0.05

    /// Two prompts with two answers each (G = 2), of 3, 2, 1 and 3 tokens; scores 13.8 and 6.5
    /// (both above 5, so clipping would make them equal), 9 and -7.25.
    private func batch() -> ExperienceBatch {
        var b = ExperienceBatch(batchID: 1, iteration: 0, policyVersion: 0, B: 4, promptWidth: 1, responseWidth: 3, groupSize: 2)
        b.promptLengths = [1, 1, 1, 1]
        b.prompts = [5, 5, 6, 6]
        b.responseLengths = [3, 2, 1, 3]
        b.responses = [7, 8, 2, 9, 2, 0, 2, 0, 0, 10, 11, 2]
        b.ended = [1, 1, 1, 1]
        b.scores = [13.8, 6.5, 9.0, -7.25]
        b.logProbs = [-1.0, -2.0, -0.5, -1.5, -0.25, 0, -3.0, 0, 0, -0.75, -1.25, -2.5]
        b.refLogProbs = [-1.5, -1.0, -0.75, -1.0, -2.25, 0, -2.0, 0, 0, -1.0, -1.0, -3.5]
        return b
    }

    /// `score_i - β Σ_t KL_t` for each answer, KL by k1 over its real tokens, in Double.
    private func penalised(_ b: ExperienceBatch, clip: Double? = nil) -> [Double] {
        (0..<b.B).map { row in
            var kl = 0.0
            for j in 0..<Int(b.responseLengths[row]) {
                kl += Double(b.logProbs[row * b.responseWidth + j]) - Double(b.refLogProbs[row * b.responseWidth + j])
            }
            let score = Double(b.scores[row])
            return (clip.map { min(max(score, -$0), $0) } ?? score) - Self.beta * kl
        }
    }

    /// With G = 2 the baseline of an answer is the other answer's reward.
    private func leaveOneOutPairs(_ r: [Double]) -> [Double] {
        (0..<r.count).map { r[$0] - r[$0 ^ 1] }
    }

    private func assertAdvantages(_ b: ExperienceBatch, equal expected: [Double], _ what: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        for row in 0..<b.B {
            for j in 0..<b.responseWidth {
                let got = Double(b.advantages[row * b.responseWidth + j])
                let want = j < Int(b.responseLengths[row]) ? expected[row] : 0
                XCTAssertEqual(got, want, accuracy: 1e-5 * max(1, abs(want)),
                               "\(what): answer \(row), token \(j)", file: file, line: line)
            }
        }
    }

    func testRLOO_subtractsTheSummedKLFromTheRawScoreBeforeTheLeaveOneOutBaseline() {
        var b = batch()
        b.computeAdvantages(config: RLAlgorithmConfig(algorithm: .rloo), klCoef: Self.beta)
        let expected = leaveOneOutPairs(penalised(b))
        assertAdvantages(b, equal: expected, "raw score - β ΣKL, leave-one-out")
        // 13.8 against 6.5 is worth 7.3 before the KL; clipped to 5 and 5 it would be worth nothing.
        XCTAssertGreaterThan(expected[0], 7, "the fixture's scores above 5 make the advantage")
        let clipped = leaveOneOutPairs(penalised(b, clip: 5))
        XCTAssertGreaterThan(abs(clipped[0] - expected[0]), 1, "clipping would have given another advantage")
        // The recorded per-token rewards add up to the penalised score of their answer.
        for (row, r) in penalised(b).enumerated() {
            let sum = (0..<b.responseWidth).reduce(0.0) { $0 + Double(b.rewards[row * b.responseWidth + $1]) }
            XCTAssertEqual(sum, r, accuracy: 1e-5 * max(1, abs(r)), "rewards of answer \(row) sum to score - β ΣKL")
        }
    }

    func testRLOO_rewardClipIsOptInAndClipsBeforeTheKL() {
        var config = RLAlgorithmConfig(algorithm: .rloo)
        XCTAssertNil(config.rewardClip, "RLOO leaves the score raw by default, as trl's reward_clip_range=None")
        XCTAssertEqual(RLAlgorithmConfig(algorithm: .ppo).rewardClip, 5, "PPO keeps DeepSpeed-Chat's clip of 5")
        config.rewardClip = 5
        var b = batch()
        b.computeAdvantages(config: config, klCoef: Self.beta)
        assertAdvantages(b, equal: leaveOneOutPairs(penalised(b, clip: 5)), "clip(score, ±5) - β ΣKL, leave-one-out")
    }
}
