import Training
import XCTest

/// The pre-gradient math of step 3 against the float64 references of
/// Scripts/fixtures/make_rl_fixture.py (DeepSpeed-Chat's and trl's code, reimplemented), and its
/// edge cases by hand.
final class AdvantagesTests: XCTestCase {
    private typealias R = RLReference.PPO

    func testKLEstimators_matchSchulmansK1K2K3() {
        for (estimator, expected) in [(KLEstimator.k1, R.k1), (.k2, R.k2), (.k3, R.k3)] {
            let kl = Advantages.kl(logProbs: R.logProbs, refLogProbs: R.refLogProbs, estimator: estimator)
            RLChecks.assertClose(kl, expected, "\(estimator)")
        }
        // k1 may go negative on a sample, k3 never does.
        XCTAssertTrue(R.k1.contains { $0 < 0 })
        let k3 = Advantages.kl(logProbs: R.logProbs, refLogProbs: R.refLogProbs, estimator: .k3)
        XCTAssertTrue(k3.allSatisfy { $0 >= 0 })
    }

    func testKLShapedRewards_matchDeepSpeedChatComputeRewards() {
        for (estimator, klCoef, clip, expected) in [
            (KLEstimator.k1, 0.1, 5.0, (R.Defaults.rewards, R.Defaults.klPart, R.Defaults.scorePart)),
            (.k3, 0.05, 2.0, (R.K3.rewards, R.K3.klPart, R.K3.scorePart)),
        ] {
            let out = Advantages.klShapedRewards(
                scores: R.scores, logProbs: R.logProbs, refLogProbs: R.refLogProbs, mask: R.mask, B: R.B, T: R.T,
                klCoef: klCoef, estimator: estimator, rewardClip: clip)
            RLChecks.assertClose(out.rewards, expected.0, "rewards \(estimator)")
            RLChecks.assertClose(out.klPart, expected.1, "KL part \(estimator)")
            RLChecks.assertClose(out.scorePart, expected.2, "score part \(estimator)")
        }
        // The scores 7.3 and -6.1 are clipped to ±5.
        let clipped = Advantages.klShapedRewards(
            scores: R.scores, logProbs: R.logProbs, refLogProbs: R.refLogProbs, mask: R.mask, B: R.B, T: R.T,
            klCoef: 0.1, estimator: .k1, rewardClip: 5).scorePart
        XCTAssertEqual(clipped, [5, -0.8, -5, 2.4])
    }

    func testGAE_matchesDeepSpeedChatAdvantagesAndReturns() {
        for (estimator, klCoef, clip, gamma, lambda, advantages, returns) in [
            (KLEstimator.k1, 0.1, 5.0, 1.0, 0.95, R.Defaults.advantages, R.Defaults.returns),
            (.k3, 0.05, 2.0, 0.99, 0.9, R.K3.advantages, R.K3.returns),
        ] {
            let rewards = Advantages.klShapedRewards(
                scores: R.scores, logProbs: R.logProbs, refLogProbs: R.refLogProbs, mask: R.mask, B: R.B, T: R.T,
                klCoef: klCoef, estimator: estimator, rewardClip: clip).rewards
            let out = Advantages.gae(rewards: rewards, values: R.values, mask: R.mask, B: R.B, T: R.T, gamma: gamma, lambda: lambda)
            RLChecks.assertClose(out.advantages, advantages, "advantages γ \(gamma) λ \(lambda)")
            RLChecks.assertClose(out.returns, returns, "returns γ \(gamma) λ \(lambda)")
        }
    }

    func testGAE_skipsPaddingInsideARowAndLeavesAnEmptyRowAtZero() {
        // Row 0 has its two tokens at 0 and 2 (padding between); row 1 has them at 0 and 1; row 2 has none.
        let rewards: [Float] = [0.5, 9, 2, 0.5, 2, 9, 9, 9, 9]
        let values: [Float] = [1, 9, -1, 1, -1, 9, 9, 9, 9]
        let mask: [Float] = [1, 0, 1, 1, 1, 0, 0, 0, 0]
        let out = Advantages.gae(rewards: rewards, values: values, mask: mask, B: 3, T: 3, gamma: 0.9, lambda: 0.5)
        // Last token: δ = 2 - (-1) = 3. First: δ = 0.5 + 0.9 (-1) - 1 = -1.4, A = -1.4 + 0.45 * 3.
        let a0: Float = -1.4 + 0.45 * 3
        XCTAssertEqual(out.advantages[0], a0, accuracy: 1e-6)
        XCTAssertEqual(out.advantages[2], 3, accuracy: 1e-6)
        XCTAssertEqual(out.advantages[1], 0)
        XCTAssertEqual(out.advantages[3], out.advantages[0])
        XCTAssertEqual(out.advantages[4], out.advantages[2])
        XCTAssertEqual(out.returns[0], a0 + 1, accuracy: 1e-6)
        XCTAssertEqual(out.returns[2], 2, accuracy: 1e-6)
        XCTAssertEqual(Array(out.advantages[5...]) + Array(out.returns[5...]), [Float](repeating: 0, count: 8))
        // A row with no real token gets no score either.
        let shaped = Advantages.klShapedRewards(scores: [1, 3], logProbs: [-1, -1], refLogProbs: [-2, -2], mask: [1, 0],
                                                B: 2, T: 1, klCoef: 0.1, estimator: .k1, rewardClip: 5)
        XCTAssertEqual(shaped.rewards[0], Float(-0.1 + 1), accuracy: 1e-7)
        XCTAssertEqual(shaped.rewards[1], 0)
    }

    func testWhiten_matchesTrlMaskedWhiten() {
        let advantages = R.Defaults.advantages.map { Float($0) }
        RLChecks.assertClose(Advantages.whiten(advantages, mask: R.mask, shiftMean: true), R.whitened, "whitened")
        RLChecks.assertClose(Advantages.whiten(advantages, mask: R.mask, shiftMean: false), R.whitenedUnshifted,
                             "whitened, mean kept")
    }

    func testWhiten_withOneOrNoMaskedEntryGivesFiniteValues() {
        XCTAssertEqual(Advantages.whiten([3, 7], mask: [0, 1], shiftMean: true), [0, 0])
        XCTAssertEqual(Advantages.whiten([3, 7], mask: [0, 1], shiftMean: false), [0, 7])
        XCTAssertEqual(Advantages.whiten([3, 7], mask: [0, 0], shiftMean: true), [0, 0])
    }

    func testGroupRelative_matchesTrlGRPOAdvantages() {
        typealias G = RLReference.Groups
        let scaled = Advantages.groupRelative(scores: G.scores, groupSize: G.groupSize, scaleByStd: true)
        RLChecks.assertClose(scaled, G.advantages, "scaled by the group's std")
        let unscaled = Advantages.groupRelative(scores: G.scores, groupSize: G.groupSize, scaleByStd: false)
        RLChecks.assertClose(unscaled, G.advantagesUnscaled, "unscaled")
        XCTAssertEqual(Array(scaled[8...]), [0, 0, 0, 0], "a group of equal scores teaches nothing")
        XCTAssertEqual(Advantages.groupRelative(scores: [4, 5], groupSize: 1, scaleByStd: true), [0, 0])
    }

    func testLeaveOneOut_matchesTrlRLOOWithTheKLSubtractedFromTheScore() {
        typealias G = RLReference.Groups
        let sequenceKL = Advantages.sequenceKL(logProbs: G.oldLogProbs, refLogProbs: G.refLogProbs, mask: G.mask,
                                               B: G.B, T: G.T, estimator: .k1)
        RLChecks.assertClose(sequenceKL, G.sequenceKL, "Σ_t k1 per answer")
        let penalized = zip(G.scores, sequenceKL).map { Float(Double($0) - 0.05 * Double($1)) }
        RLChecks.assertClose(penalized, G.penalizedScores, "scores - β KL")
        RLChecks.assertClose(Advantages.leaveOneOut(scores: penalized, groupSize: 4), G.rlooAdvantages, "groups of 4")
        RLChecks.assertClose(Advantages.leaveOneOut(scores: penalized, groupSize: 2), G.rlooAdvantagesPairs, "pairs")
        XCTAssertEqual(Advantages.leaveOneOut(scores: [1, 2], groupSize: 1), [0, 0])
    }

    func testBroadcast_givesEachRealTokenItsResponsesAdvantage() {
        XCTAssertEqual(Advantages.broadcast([2, -1], mask: [1, 1, 0, 1, 0, 0], T: 3), [2, 2, 0, -1, 0, 0])
    }

    func testMissingEOSPenalty_isSubtractedFromResponsesThatNeverEnded() {
        XCTAssertEqual(Advantages.penalizeMissingEOS(scores: [1, 2, 3], ended: [true, false, true], penalty: 1.5), [1, 0.5, 3])
        XCTAssertEqual(Advantages.penalizeMissingEOS(scores: [1, 2], ended: [false, false], penalty: nil), [1, 2])
    }

    func testAdaptiveKLController_followsTrlsUpdates() {
        typealias K = RLReference.AdaptiveKL
        var controller = AdaptiveKLController(initialValue: 0.1, target: 6, horizon: 10_000)
        var values: [Double] = []
        for (kl, steps) in zip(K.currentKL, K.steps) {
            controller.update(currentKL: kl, steps: steps)
            values.append(controller.value)
        }
        RLChecks.assertClose(values, K.values, rel: 1e-12, abs: 0, "β after each update")
        XCTAssertGreaterThan(values[0], 0.1, "a KL above target raises β")

        var fixed = FixedKLController(value: 0.1)
        fixed.update(currentKL: 100, steps: 1000)
        XCTAssertEqual(fixed.value, 0.1)

        var config = RLAlgorithmConfig()
        XCTAssertTrue(config.makeKLController() is FixedKLController)
        config.adaptiveKL = true
        let adaptive = config.makeKLController() as? AdaptiveKLController
        XCTAssertEqual(adaptive, AdaptiveKLController(initialValue: 0.1, target: 6, horizon: 10_000))
    }
}
