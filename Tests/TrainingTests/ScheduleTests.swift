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

    func testWarmupSteps_preferStepsThenRoundTheRatioUp() {
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 7, ratio: 0.5, totalSteps: 100), 7)
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 0, ratio: 0.03, totalSteps: 561), 17)
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 0, ratio: 0, totalSteps: 100), 0)
    }
}
