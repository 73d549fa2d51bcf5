import Foundation
import Training
import XCTest

/// The learning-rate curves against transformers' formulas at chosen steps.
final class ScheduleTests: XCTestCase {
    func testLinearWithWarmup_rampsFromZeroThenDecaysToZero() {
        let s = LearningRateSchedule(kind: .linear, learningRate: 1e-3, warmupSteps: 10, totalSteps: 110)
        XCTAssertEqual(s.learningRate(step: 0), 0)
        XCTAssertEqual(s.learningRate(step: 5), 5e-4, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 10), 1e-3, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 60), 5e-4, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 110), 0, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 200), 0, "never negative past the end")
    }

    func testCosineWithWarmup_followsHalfACosine() {
        let s = LearningRateSchedule(kind: .cosine, learningRate: 2.0, warmupSteps: 4, totalSteps: 104)
        XCTAssertEqual(s.learningRate(step: 2), 1.0, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 4), 2.0, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 54), 1.0, accuracy: 1e-12, "half way the rate is half")
        XCTAssertEqual(s.learningRate(step: 29), 2.0 * 0.5 * (1 + cos(Double.pi * 0.25)), accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 104), 0, accuracy: 1e-12)
    }

    func testConstant_ignoresWarmupAndConstantWithWarmupDoesNot() {
        let constant = LearningRateSchedule(kind: .constant, learningRate: 3, warmupSteps: 10, totalSteps: 50)
        XCTAssertEqual(constant.learningRate(step: 0), 3)
        XCTAssertEqual(constant.learningRate(step: 49), 3)
        let warm = LearningRateSchedule(kind: .constantWithWarmup, learningRate: 3, warmupSteps: 10, totalSteps: 50)
        XCTAssertEqual(warm.learningRate(step: 5), 1.5, accuracy: 1e-12)
        XCTAssertEqual(warm.learningRate(step: 40), 3)
    }

    /// Values printed by transformers 5.25's `get_wsd_schedule(num_warmup_steps=4,
    /// num_decay_steps=20, num_training_steps=104)` (its default cosine decay) at rate 2.
    func testWarmupStableDecay_matchesTransformersWSD() {
        let s = LearningRateSchedule(kind: .warmupStableDecay, learningRate: 2.0, warmupSteps: 4, totalSteps: 104,
                                     decayRatio: 20.0 / 104.0)
        XCTAssertEqual(s.decaySteps, 20)
        let expected: [(Int, Double)] = [(0, 0), (2, 1), (4, 2), (50, 2), (83, 2), (84, 2), (89, 1.7071067811865475),
                                         (94, 1), (99, 0.29289321881345254), (103, 0.01231165940486234), (104, 0), (110, 0)]
        for (step, rate) in expected {
            XCTAssertEqual(s.learningRate(step: step), rate, accuracy: 1e-12, "step \(step)")
        }
    }

    func testWarmupStableDecay_neverDecaysIntoTheWarmup() {
        let s = LearningRateSchedule(kind: .warmupStableDecay, learningRate: 1, warmupSteps: 8, totalSteps: 10, decayRatio: 1)
        XCTAssertEqual(s.decaySteps, 2)
        XCTAssertEqual(s.learningRate(step: 7), 7.0 / 8.0, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 8), 1, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 9), 0.5, accuracy: 1e-12)
    }

    func testWarmupSteps_preferStepsThenRoundTheRatioUp() {
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 7, ratio: 0.5, totalSteps: 100), 7)
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 0, ratio: 0.03, totalSteps: 561), 17)
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 0, ratio: 0, totalSteps: 100), 0)
    }
}
