import Foundation
import Training
import XCTest

/// Each loss against its closed form and its gradient against central differences.
final class LossTests: XCTestCase {
    /// Central difference of `f` in input `i` of `x`, in Double.
    private func numericGradient(_ x: [Float], _ i: Int, h: Float = 1e-3, _ f: ([Float]) -> Double) -> Double {
        var plus = x, minus = x
        plus[i] += h
        minus[i] -= h
        return (f(plus) - f(minus)) / Double(2 * h)
    }

    func testPairwiseRanking_matchesInstructGPTEquation1AndItsGradient() {
        let chosen: [Float] = [1.5, -0.3, 0.2], rejected: [Float] = [0.5, 0.4, -2.0]
        let out = Losses.pairwiseRanking(chosen: chosen, rejected: rejected, normalizer: 3)
        let expected = zip(chosen, rejected).reduce(0.0) { $0 + log(1 + exp(-Double($1.0 - $1.1))) } / 3
        XCTAssertEqual(out.loss, expected, accuracy: 1e-7)
        XCTAssertEqual(out.correct, 2)
        XCTAssertEqual(out.marginSum, 1.0 - 0.7 + 2.2, accuracy: 1e-6)
        for i in 0..<3 {
            let dc = numericGradient(chosen, i) { Losses.pairwiseRanking(chosen: $0, rejected: rejected, normalizer: 3).loss }
            let dr = numericGradient(rejected, i) { Losses.pairwiseRanking(chosen: chosen, rejected: $0, normalizer: 3).loss }
            XCTAssertEqual(Double(out.dChosen[i]), dc, accuracy: 1e-4)
            XCTAssertEqual(Double(out.dRejected[i]), dr, accuracy: 1e-4)
        }
    }

    func testPairwiseRanking_isStableForLargeMargins() {
        let out = Losses.pairwiseRanking(chosen: [-500], rejected: [500], normalizer: 1)
        XCTAssertEqual(out.loss, 1000, accuracy: 1e-9)
        XCTAssertEqual(out.dChosen[0], -1, accuracy: 1e-6)
        XCTAssertEqual(Losses.pairwiseRanking(chosen: [500], rejected: [-500], normalizer: 1).loss, 0, accuracy: 1e-12)
    }

    func testDPOSigmoid_matchesEquation7AndItsGradient() {
        let pc: [Float] = [-10, -4], pr: [Float] = [-12, -3], rc: [Float] = [-11, -4.5], rr: [Float] = [-11, -3.2]
        let beta = 0.5
        let out = Losses.preference(policyChosen: pc, policyRejected: pr, referenceChosen: rc, referenceRejected: rr,
                                    beta: beta, type: .sigmoid, normalizer: 2)
        var expected = 0.0
        for b in 0..<2 {
            let h = Double(pc[b] - rc[b]) - Double(pr[b] - rr[b])
            expected += -log(1 / (1 + exp(-beta * h))) / 2
        }
        XCTAssertEqual(out.loss, expected, accuracy: 1e-6)
        XCTAssertEqual(Double(out.chosenRewards[0]), beta * 1, accuracy: 1e-6)
        XCTAssertEqual(Double(out.rejectedRewards[0]), beta * -1, accuracy: 1e-6)
        for i in 0..<2 {
            let dc = numericGradient(pc, i) {
                Losses.preference(policyChosen: $0, policyRejected: pr, referenceChosen: rc, referenceRejected: rr, beta: beta, type: .sigmoid, normalizer: 2).loss
            }
            let dr = numericGradient(pr, i) {
                Losses.preference(policyChosen: pc, policyRejected: $0, referenceChosen: rc, referenceRejected: rr, beta: beta, type: .sigmoid, normalizer: 2).loss
            }
            XCTAssertEqual(Double(out.dChosen[i]), dc, accuracy: 1e-4)
            XCTAssertEqual(Double(out.dRejected[i]), dr, accuracy: 1e-4)
        }
    }

    func testIPO_isTheSquaredDistanceToOneOverTwoBeta() {
        let pc: [Float] = [-1.0], pr: [Float] = [-2.0], rc: [Float] = [-1.5], rr: [Float] = [-1.8]
        let beta = 0.25
        let out = Losses.preference(policyChosen: pc, policyRejected: pr, referenceChosen: rc, referenceRejected: rr,
                                    beta: beta, type: .ipo, normalizer: 1)
        let h = 0.5 - -0.2
        XCTAssertEqual(out.loss, (h - 2) * (h - 2), accuracy: 1e-6)
        XCTAssertEqual(Double(out.dChosen[0]), 2 * (h - 2), accuracy: 1e-5)
        XCTAssertEqual(Double(out.dRejected[0]), -2 * (h - 2), accuracy: 1e-5)
    }

    func testLanguageModelLoss_averagesOverTheStepsTargets() {
        let logprobs: [Float] = [-1, -2, -3, -4]
        let targets: [Int32] = [5, -1, 7, 9]
        var d = [Float](repeating: 9, count: 4)
        let (loss, count) = Losses.languageModel(dlogprobs: &d, logprobs: logprobs, targets: targets, N: 4, normalizer: 6)
        XCTAssertEqual(count, 3)
        XCTAssertEqual(loss, 8.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(d, [-1.0 / 6, 0, -1.0 / 6, -1.0 / 6].map(Float.init))
    }

    func testSequenceLogProbs_sumOrAverageTheTargetsAndSpreadTheGradientBack() {
        // Two rows of T = 3; row 0 has targets at 1 and 2, row 1 at 0.
        let logprobs: [Float] = [0, -1, -2, -3, 0, 0]
        let targets: [Int32] = [-1, 4, 4, 4, -1, -1]
        let sum = Losses.sequenceLogProbs(logprobs: logprobs, targets: targets, B: 2, T: 3, average: false)
        XCTAssertEqual(sum.values, [-3, -3])
        XCTAssertEqual(sum.counts, [2, 1])
        XCTAssertEqual(Losses.sequenceLogProbs(logprobs: logprobs, targets: targets, B: 2, T: 3, average: true).values, [-1.5, -3])
        var d = [Float](repeating: 7, count: 6)
        Losses.sequenceLogProbsBackward(dlogprobs: &d, dsequence: [2, -1], counts: sum.counts, targets: targets, B: 2, T: 3, average: true)
        XCTAssertEqual(d, [0, 1, 1, -1, 0, 0])
    }
}
