import Training
import XCTest

/// PPO's policy and value losses and GRPO's loss against DeepSpeed-Chat's `actor_loss_fn` /
/// `critic_loss_fn` and trl's GRPO loss (reimplemented in Scripts/fixtures/make_rl_fixture.py,
/// gradients by float64 central differences there), against central differences here, and split
/// into micro-batches.
final class RLLossTests: XCTestCase {
    private typealias R = RLReference.PPO
    private typealias G = RLReference.Groups

    private var ppoAdvantages: [Float] { R.Defaults.advantages.map { Float($0) } }
    private var ppoReturns: [Float] { R.Defaults.returns.map { Float($0) } }
    private var oldValues: [Float] { R.values }
    private var groupAdvantages: [Float] {
        Advantages.broadcast(Advantages.groupRelative(scores: G.scores, groupSize: G.groupSize, scaleByStd: true),
                             mask: G.mask, T: G.T)
    }

    private func tokens(_ mask: [Float]) -> Double { Double(mask.filter { $0 != 0 }.count) }

    // MARK: - Losses over a whole batch, with the gradient

    private func policy(_ logProbs: [Float], range: Range<Int>? = nil, normalizer: Double? = nil)
        -> (Losses.PolicyLossStats, [Float])
    {
        let r = range ?? 0..<logProbs.count
        var d = [Float](repeating: .nan, count: r.count)
        let stats = Losses.ppoPolicy(dlogprobs: &d, logProbs: Array(logProbs[r]), oldLogProbs: Array(R.logProbs[r]),
                                     advantages: Array(ppoAdvantages[r]), mask: Array(R.mask[r]), N: r.count, clip: 0.2,
                                     normalizer: normalizer ?? tokens(R.mask))
        return (stats, d)
    }

    private func value(_ values: [Float], range: Range<Int>? = nil) -> (Losses.ValueLossStats, [Float]) {
        let r = range ?? 0..<values.count
        var d = [Float](repeating: .nan, count: r.count)
        let stats = Losses.ppoValue(dvalues: &d, values: Array(values[r]), oldValues: Array(oldValues[r]),
                                    returns: Array(ppoReturns[r]), mask: Array(R.mask[r]), N: r.count, clip: 0.2,
                                    normalizer: tokens(R.mask))
        return (stats, d)
    }

    private func grpo(_ logProbs: [Float], range: Range<Int>? = nil) -> (Losses.PolicyLossStats, [Float]) {
        let r = range ?? 0..<logProbs.count
        var d = [Float](repeating: .nan, count: r.count)
        let stats = Losses.grpoPolicy(dlogprobs: &d, logProbs: Array(logProbs[r]), oldLogProbs: Array(G.oldLogProbs[r]),
                                      refLogProbs: Array(G.refLogProbs[r]), advantages: Array(groupAdvantages[r]),
                                      mask: Array(G.mask[r]), N: r.count, clip: 0.2, beta: 0.04, normalizer: tokens(G.mask))
        return (stats, d)
    }

    // MARK: - Against the references

    func testPPOPolicy_matchesDeepSpeedChatActorLossAndItsGradient() {
        let (stats, d) = policy(R.newLogProbs)
        RLChecks.assertClose(stats.loss, R.actorLoss, "actor loss")
        RLChecks.assertGradient(d, R.actorGradient, rel: 1e-6, abs: 1e-9, "d actor loss / d log π (float64 differences)")
        RLChecks.assertGradient(d, RLChecks.centralDifferences(R.newLogProbs) { self.policy($0).0.loss },
                                rel: 1e-3, abs: 1e-6, "d actor loss / d log π (Float differences)")
        XCTAssertEqual(stats.tokens, Int(tokens(R.mask)))
        XCTAssertEqual(stats.clippedTokens, R.actorClipped)
        XCTAssertGreaterThan(stats.clippedTokens, 0, "the fixture exercises the clip")
        XCTAssertLessThan(stats.clippedTokens, stats.tokens)
        RLChecks.assertClose(stats.approxKLSum, R.actorApproxKLSum, "approxkl sum")
        RLChecks.assertClose(stats.policyKLSum, R.actorPolicyKLSum, "policykl sum")
        XCTAssertTrue(stats.ratioMin < 0.8 && stats.ratioMax > 1.2, "ratios on both sides of the clip range")
    }

    func testPPOValue_matchesDeepSpeedChatCriticLossAndItsGradient() {
        let (stats, d) = value(R.newValues)
        RLChecks.assertClose(stats.loss, R.criticLoss, "critic loss")
        RLChecks.assertGradient(d, R.criticGradient, rel: 1e-6, abs: 1e-9, "d critic loss / d V (float64 differences)")
        RLChecks.assertGradient(d, RLChecks.centralDifferences(R.newValues) { self.value($0).0.loss },
                                rel: 1e-3, abs: 1e-6, "d critic loss / d V (Float differences)")
        XCTAssertEqual(stats.clippedTokens, R.criticClipped)
        XCTAssertGreaterThan(stats.clippedTokens, 0, "the fixture exercises the clip")
    }

    func testGRPOPolicy_matchesTrlsLossAndItsGradient() {
        let (stats, d) = grpo(G.newLogProbs)
        RLChecks.assertClose(stats.loss, G.loss, "GRPO loss")
        RLChecks.assertGradient(d, G.gradient, rel: 1e-6, abs: 1e-9, "d GRPO loss / d log π (float64 differences)")
        RLChecks.assertGradient(d, RLChecks.centralDifferences(G.newLogProbs) { self.grpo($0).0.loss },
                                rel: 1e-3, abs: 1e-6, "d GRPO loss / d log π (Float differences)")
        RLChecks.assertClose(stats.referenceKLSum, G.referenceKLSum, "Σ k3 to the reference")
        // With equal advantages 0 (the last group) only the KL term pulls: towards the reference.
        let i = 8 * G.T
        let expected = 0.04 * (1 - exp(Double(G.refLogProbs[i]) - Double(G.newLogProbs[i]))) / tokens(G.mask)
        XCTAssertEqual(Double(d[i]), expected, accuracy: 1e-9)
    }

    func testPPOPolicy_aClippedTokenGetsNoGradientAndAnUnclippedOneGetsMinusARatio() {
        // r = e^0.4 ≈ 1.49 for both tokens; A = +1 clips (the objective would grow past 1 + ε), A = -1 does not.
        var d = [Float](repeating: .nan, count: 2)
        let stats = Losses.ppoPolicy(dlogprobs: &d, logProbs: [-0.6, -0.6], oldLogProbs: [-1, -1], advantages: [1, -1],
                                     mask: [1, 1], N: 2, clip: 0.2, normalizer: 4)
        let r = exp(0.4)
        XCTAssertEqual(stats.clippedTokens, 1)
        XCTAssertEqual(d[0], 0)
        XCTAssertEqual(Double(d[1]), r / 4, accuracy: 1e-6)
        XCTAssertEqual(stats.loss, (-1.2 + r) / 4, accuracy: 1e-6)
    }

    func testGradientCheck_failsOnZeroAndOnNaNGradients() {
        let numeric = RLChecks.centralDifferences(R.newLogProbs) { self.policy($0).0.loss }
        let (_, analytic) = policy(R.newLogProbs)
        XCTAssertTrue(RLChecks.gradientProblems(analytic: analytic, numeric: numeric, rel: 1e-3, abs: 1e-6).isEmpty)
        let zero = [Float](repeating: 0, count: analytic.count)
        XCTAssertFalse(RLChecks.gradientProblems(analytic: zero, numeric: numeric, rel: 1e-3, abs: 1e-6).isEmpty)
        XCTAssertFalse(RLChecks.gradientProblems(analytic: zero, numeric: numeric.map { _ in 0 }, rel: 1e-3, abs: 1e-6).isEmpty)
        var withNaN = analytic
        withNaN[0] = .nan
        XCTAssertFalse(RLChecks.gradientProblems(analytic: withNaN, numeric: numeric, rel: 1e-3, abs: 1e-6).isEmpty)
        XCTAssertFalse(RLChecks.mismatches([.infinity], [1], rel: 1e-6, abs: 1e-9).isEmpty)
    }

    // MARK: - Micro-batches

    func testMicroBatchSplit_oneOrThreeMicroBatchesGiveTheSameLossAndGradient() {
        // Rows 0 | 1 2 | 3 of the PPO batch, and 0-4 | 5-7 | 8-11 of the groups: uneven token counts.
        let ppoSplits = [0..<R.T, R.T..<3 * R.T, 3 * R.T..<4 * R.T]
        let groupSplits = [0..<5 * G.T, 5 * G.T..<8 * G.T, 8 * G.T..<12 * G.T]

        let (wholePolicy, wholeDPolicy) = policy(R.newLogProbs)
        var policyParts = Losses.PolicyLossStats(), policyD: [Float] = []
        for r in ppoSplits {
            let (s, d) = policy(R.newLogProbs, range: r)
            policyParts.merge(s)
            policyD += d
        }
        XCTAssertEqual(policyParts.loss, wholePolicy.loss, accuracy: 1e-12)
        XCTAssertEqual(policyD, wholeDPolicy)
        XCTAssertEqual(policyParts.tokens, wholePolicy.tokens)
        XCTAssertEqual(policyParts.clippedTokens, wholePolicy.clippedTokens)
        XCTAssertEqual(policyParts.ratioMax, wholePolicy.ratioMax)

        let (wholeValue, wholeDValue) = value(R.newValues)
        var valueParts = Losses.ValueLossStats(), valueD: [Float] = []
        for r in ppoSplits {
            let (s, d) = value(R.newValues, range: r)
            valueParts.merge(s)
            valueD += d
        }
        XCTAssertEqual(valueParts.loss, wholeValue.loss, accuracy: 1e-12)
        XCTAssertEqual(valueD, wholeDValue)
        XCTAssertEqual(valueParts.clippedTokens, wholeValue.clippedTokens)

        let (wholeGRPO, wholeDGRPO) = grpo(G.newLogProbs)
        var grpoParts = Losses.PolicyLossStats(), grpoD: [Float] = []
        for r in groupSplits {
            let (s, d) = grpo(G.newLogProbs, range: r)
            grpoParts.merge(s)
            grpoD += d
        }
        XCTAssertEqual(grpoParts.loss, wholeGRPO.loss, accuracy: 1e-12)
        XCTAssertEqual(grpoD, wholeDGRPO)
        XCTAssertEqual(grpoParts.referenceKLSum, wholeGRPO.referenceKLSum, accuracy: 1e-12)
    }

    // MARK: - ptx

    func testPtx_isTheLanguageModelLossWeightedByTheCoefficient() {
        var d = [Float](repeating: 9, count: 3)
        let out = Losses.ptx(dlogprobs: &d, logprobs: [-1, -2, -4], targets: [5, -1, 7], N: 3, coefficient: 27.8, normalizer: 2)
        XCTAssertEqual(out.targets, 2)
        XCTAssertEqual(out.loss, 27.8 * 5 / 2, accuracy: 1e-9)
        XCTAssertEqual(d, [Float(-27.8 / 2), 0, Float(-27.8 / 2)])
    }
}
