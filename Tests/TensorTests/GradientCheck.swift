import Tensor
import TestSupport
import XCTest

/// Finite-difference gradient checking for kernels that take raw buffers.
///
/// The scalar checked is L = sum(out * R) for a fixed random R, so dL/dout = R; the analytic
/// gradient from a kernel's backward is compared with central differences of L computed in
/// Double from the forward alone.
struct GradientCheck {
    var rng = SplitMix64(seed: 42)

    mutating func random(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in (rng.nextFloat() * 2 - 1) * scale }
    }

    /// Compares `analytic` with central differences of `loss` with respect to `x`, at up to
    /// `samples` evenly spread indices (`Closeness.gradients`: within atol + rtol * the larger
    /// magnitude). Fails the test on a mismatch, a NaN or infinity, or when every sampled
    /// gradient is zero.
    static func check(
        _ name: String, x: inout [Float], analytic: [Float], eps: Float = 1e-2,
        rtol: Double = 2e-2, atol: Double = 2e-3, samples: Int = 64,
        loss: ([Float]) -> Double, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(x.count, analytic.count, "\(name): gradient size", file: file, line: line)
        let c = closeness(x: &x, analytic: analytic, eps: eps, rtol: rtol, atol: atol, samples: samples, loss: loss)
        XCTAssertTrue(c.passed, "\(name): analytic vs numeric: \(c)", file: file, line: line)
    }

    /// What `check` asserts on.
    static func closeness(x: inout [Float], analytic: [Float], eps: Float = 1e-2, rtol: Double = 2e-2, atol: Double = 2e-3,
                          samples: Int = 64, loss: ([Float]) -> Double) -> Closeness {
        let indices = Array(stride(from: 0, to: min(x.count, analytic.count), by: max(1, x.count / samples)))
        var numeric: [Double] = []
        for i in indices {
            let orig = x[i]
            x[i] = orig + eps
            let lp = loss(x)
            x[i] = orig - eps
            let lm = loss(x)
            x[i] = orig
            numeric.append((lp - lm) / (2 * Double(eps)))
        }
        return Closeness.gradients(analytic: indices.map { analytic[$0] }, numeric: numeric, atol: atol, rtol: rtol) { "index \(indices[$0])" }
    }

    static func weightedSum(_ out: [Float], _ r: [Float]) -> Double {
        var s = 0.0
        for i in 0..<out.count { s += Double(out[i]) * Double(r[i]) }
        return s
    }
}

/// The kernel gradient check fails on a NaN or infinity in either gradient and on all-zero ones.
final class GradientCheckTests: XCTestCase {
    func testCheck_failsOnNaNInfinityAndAllZero() {
        var x: [Float] = [0.5, -1, 2, 0.25]
        func cube(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) * Double($1) } }  // gradient 3x²
        let right = x.map { 3 * $0 * $0 }
        XCTAssertTrue(GradientCheck.closeness(x: &x, analytic: right, eps: 1e-3, loss: cube).passed)
        for bad in [Float.nan, .infinity, -.infinity] {
            var analytic = right
            analytic[2] = bad
            XCTAssertFalse(GradientCheck.closeness(x: &x, analytic: analytic, eps: 1e-3, loss: cube).passed, "\(bad) analytic")
            XCTAssertFalse(GradientCheck.closeness(x: &x, analytic: right, eps: 1e-3) { _ in Double(bad) }.passed, "\(bad) loss")
        }
        XCTAssertFalse(GradientCheck.closeness(x: &x, analytic: [0, 0, 0, 0]) { _ in 7 }.passed, "all-zero gradients")
    }
}
