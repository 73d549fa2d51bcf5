import Model
import TestSupport
import XCTest

/// The shared comparisons fail on what they exist to catch: a NaN or an infinity anywhere (first,
/// middle or last: `max` skips a NaN that is not first), lengths that differ, nothing compared,
/// and gradients that are all zero.
final class ClosenessTests: XCTestCase {
    static let bad: [Double] = [.nan, .infinity, -.infinity]

    func testCloseness_passesWithinToleranceOnly() {
        let a: [Float] = [1, -2, 3, 0]
        XCTAssertTrue(Closeness(a, a, atol: 0).passed)
        XCTAssertTrue(Closeness([1.00001, -2, 3, 0] as [Float], a, atol: 2e-5).passed)
        let off = Closeness([1, -2, 3.5, 0.1] as [Float], a, atol: 1e-3)
        XCTAssertFalse(off.passed)
        XCTAssertEqual(off.mismatches, 2)
        XCTAssertEqual(off.firstMismatch, 2)
        XCTAssertEqual(off.worstIndex, 2)
        XCTAssertEqual(off.worstAbsolute, 0.5)
        XCTAssertEqual(off.worstRelative, .infinity, "0.1 against 0")
        XCTAssertTrue(Closeness([103] as [Double], [100], atol: 0, rtol: 0.031).passed)
        XCTAssertFalse(Closeness([100] as [Double], [103], atol: 0, rtol: 0.029).passed, "relative to the expected side")
        XCTAssertTrue(Closeness([100] as [Double], [103], atol: 0, rtol: 0.03, relativeTo: .larger).passed)
        XCTAssertTrue(off.description.contains("element 2: 3.5 vs 3.0"), off.description)
    }

    func testCloseness_failsOnNaNAndInfinityAnywhere() {
        let good: [Double] = [0.5, -1, 2, 4]
        for v in Self.bad {
            for i in good.indices {
                var x = good
                x[i] = v
                for c in [Closeness(x, good, atol: 1e9, rtol: 1e9), Closeness(good, x, atol: 1e9, rtol: 1e9),
                          Closeness(x, x, atol: 1e9, rtol: 1e9)] {
                    XCTAssertFalse(c.passed, "\(v) at \(i): \(c)")
                    XCTAssertEqual(c.worstAbsolute, .infinity)
                    XCTAssertEqual(c.worstRelative, .infinity)
                    XCTAssertEqual(c.firstMismatch, i)
                    XCTAssertEqual(c.nonFinite, 1)
                }
                XCTAssertEqual(Closeness.largestMagnitude(x), .infinity, "\(v) at \(i)")
            }
        }
        let allNaN = [Float](repeating: .nan, count: 5)
        XCTAssertFalse(Closeness(allNaN, allNaN, atol: 1).passed)
        XCTAssertFalse(Closeness(allNaN, [Float](repeating: 0, count: 5), atol: 1).passed)
        XCTAssertFalse(Closeness([1] as [Float], [1], atol: .nan).passed, "a NaN tolerance")
    }

    func testCloseness_failsOnDifferentLengthsAndOnNothing() {
        XCTAssertFalse(Closeness([1, 2] as [Float], [1, 2, 3], atol: 1).passed)
        XCTAssertFalse(Closeness([] as [Float], [] as [Float], atol: 1).passed)
    }

    func testGradients_failOnNaNInfinityAndAllZero() {
        let numeric: [Double] = [0.3, -1.2, 0.01, 2]
        XCTAssertTrue(Closeness.gradients(analytic: numeric, numeric: numeric, atol: 2e-3, rtol: 3e-2).passed)
        for v in Self.bad {
            var analytic = numeric
            analytic[1] = v
            XCTAssertFalse(Closeness.gradients(analytic: analytic, numeric: numeric, atol: 2e-3, rtol: 3e-2).passed, "\(v)")
            XCTAssertFalse(Closeness.gradients(analytic: numeric, numeric: analytic, atol: 2e-3, rtol: 3e-2).passed, "\(v)")
        }
        let zeros = [Double](repeating: 0, count: 4)
        let c = Closeness.gradients(analytic: zeros, numeric: zeros, atol: 2e-3, rtol: 3e-2)
        XCTAssertFalse(c.passed, "all-zero gradients agree but prove nothing")
        XCTAssertTrue(c.description.contains("all zero"), c.description)
        XCTAssertFalse(Closeness.gradients(analytic: [1e-6, 0], numeric: [0, 1e-6], atol: 2e-3, rtol: 3e-2).passed)
    }

    /// `BlockGradientCheck` over a real model's layout, with the loss 0.5 |w|² (gradient w):
    /// passes with the right gradient, fails with a NaN or infinity in it, with a loss that is NaN
    /// or infinite, and with a loss that does not depend on the weights (gradients all zero).
    func testBlockGradientCheck_failsOnNaNInfinityAndAllZero() {
        let model = Llama(config: LlamaGradientTests.tinyConfig())
        model.initializeRandom(seed: 2, std: 0.5)
        let p = model.parameters.pointer, n = model.parameterCount
        func halfSquare() -> Double { (0..<n).reduce(0.0) { $0 + 0.5 * Double(p[$1]) * Double(p[$1]) } }
        let right = model.parameters.array
        func check(_ analytic: [Float], _ loss: () -> Double) -> BlockGradientCheck.Result {
            BlockGradientCheck.compare(entries: model.layout.entries, values: p, analytic: analytic, perTensor: 2, loss: loss)
        }
        let good = check(right, halfSquare)
        XCTAssertTrue(good.passed, "\(good)")
        XCTAssertLessThanOrEqual(good.excess, 0)
        let sampled = model.layout.entries[3].offset  // k = 0 of every entry is sampled
        for v in Self.bad.map(Float.init) {
            var analytic = right
            analytic[sampled] = v
            let r = check(analytic, halfSquare)
            XCTAssertFalse(r.passed, "\(v) in the analytic gradient: \(r)")
            XCTAssertGreaterThan(r.excess, 0, "the old excess <= 0 assertions fail too")
            let broken = check(right) { Double(v) }
            XCTAssertFalse(broken.passed, "loss \(v): \(broken)")
        }
        let constant = check([Float](repeating: 0, count: n)) { 1.5 }
        XCTAssertFalse(constant.passed, "a loss that ignores the weights: \(constant)")
    }
}
