import Tensor
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
    /// `samples` evenly spread indices. Reports the worst element and fails the test on mismatch.
    static func check(
        _ name: String, x: inout [Float], analytic: [Float], eps: Float = 1e-2,
        rtol: Double = 2e-2, atol: Double = 2e-3, samples: Int = 64,
        loss: ([Float]) -> Double, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(x.count, analytic.count, "\(name): gradient size", file: file, line: line)
        let stride = max(1, x.count / samples)
        var worst = (diff: 0.0, index: -1, numeric: 0.0, analytic: 0.0)
        var i = 0
        while i < x.count {
            let orig = x[i]
            x[i] = orig + eps
            let lp = loss(x)
            x[i] = orig - eps
            let lm = loss(x)
            x[i] = orig
            let numeric = (lp - lm) / (2 * Double(eps))
            let a = Double(analytic[i])
            let excess = abs(numeric - a) - (atol + rtol * max(abs(numeric), abs(a)))
            if worst.index < 0 || excess > worst.diff { worst = (excess, i, numeric, a) }
            i += stride
        }
        XCTAssertLessThanOrEqual(
            worst.diff, 0,
            "\(name): worst element \(worst.index): numeric \(worst.numeric) vs analytic \(worst.analytic)",
            file: file, line: line)
    }

    static func weightedSum(_ out: [Float], _ r: [Float]) -> Double {
        var s = 0.0
        for i in 0..<out.count { s += Double(out[i]) * Double(r[i]) }
        return s
    }
}
