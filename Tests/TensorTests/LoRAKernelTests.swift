import Tensor
import TestSupport
import XCTest

/// The LoRA and dropout kernels against naive loops and finite differences.
final class LoRAKernelTests: XCTestCase {
    /// The adapter adds into a column slice of a wider output, leaving the other columns alone,
    /// and its gradients match central differences.
    func testLoRA_stridedSliceForwardAndGradients() {
        var g = GradientCheck()
        let N = 5, C = 7, OC = 4, R = 3, ldo = 11, col = 5, s: Float = 1.75
        var x = g.random(N * C), a = g.random(R * C), b = g.random(OC * R)
        let base = g.random(N * ldo)
        let r = g.random(N * ldo)
        func forward(_ x: [Float], _ a: [Float], _ b: [Float]) -> [Float] {
            var out = base, h = [Float](repeating: 0, count: N * R)
            out.withUnsafeMutableBufferPointer { o in
                LoRA.forward(out: o.baseAddress! + col, ldo: ldo, h: &h, inp: x, a: a, b: b, N: N, C: C, OC: OC, R: R, scaling: s)
            }
            return out
        }
        let out = forward(x, a, b)
        for n in 0..<N {
            for j in 0..<ldo {
                var expected = Double(base[n * ldo + j])
                if (col..<(col + OC)).contains(j) {
                    for k in 0..<R {
                        var h = 0.0
                        for c in 0..<C { h += Double(x[n * C + c]) * Double(a[k * C + c]) }
                        expected += Double(s) * h * Double(b[(j - col) * R + k])
                    }
                }
                XCTAssertEqual(Double(out[n * ldo + j]), expected, accuracy: 1e-5, "row \(n) column \(j)")
            }
        }
        var h = [Float](repeating: 0, count: N * R), scratch = base
        scratch.withUnsafeMutableBufferPointer { o in
            LoRA.forward(out: o.baseAddress! + col, ldo: ldo, h: &h, inp: x, a: a, b: b, N: N, C: C, OC: OC, R: R, scaling: s)
        }
        var dx = [Float](repeating: 0, count: N * C), da = [Float](repeating: 0, count: R * C)
        var db = [Float](repeating: 0, count: OC * R), dh = [Float](repeating: 0, count: N * R)
        r.withUnsafeBufferPointer { rp in
            LoRA.backward(dinp: &dx, da: &da, db: &db, dh: &dh, dout: rp.baseAddress! + col, ldo: ldo, inp: x, h: h,
                          a: a, b: b, N: N, C: C, OC: OC, R: R, scaling: s)
        }
        let (x0, a0, b0) = (x, a, b)
        GradientCheck.check("lora dx", x: &x, analytic: dx) { GradientCheck.weightedSum(forward($0, a0, b0), r) }
        GradientCheck.check("lora dA", x: &a, analytic: da) { GradientCheck.weightedSum(forward(x0, $0, b0), r) }
        GradientCheck.check("lora dB", x: &b, analytic: db) { GradientCheck.weightedSum(forward(x0, a0, $0), r) }
    }

    /// Merging folds scaling * B A into the weight: the dense layer then computes what base +
    /// adapter did.
    func testLoRA_mergeEqualsBasePlusAdapter() {
        var g = GradientCheck()
        let N = 6, C = 9, OC = 5, R = 2, s: Float = 0.5
        let x = g.random(N * C), a = g.random(R * C), b = g.random(OC * R)
        var w = g.random(OC * C)
        var adapted = [Float](repeating: 0, count: N * OC), h = [Float](repeating: 0, count: N * R)
        Linear.forward(out: &adapted, inp: x, weight: w, bias: nil, N: N, C: C, OC: OC)
        LoRA.forward(out: &adapted, ldo: OC, h: &h, inp: x, a: a, b: b, N: N, C: C, OC: OC, R: R, scaling: s)
        LoRA.merge(weight: &w, a: a, b: b, C: C, OC: OC, R: R, scaling: s)
        var merged = [Float](repeating: 0, count: N * OC)
        Linear.forward(out: &merged, inp: x, weight: w, bias: nil, N: N, C: C, OC: OC)
        let c = Closeness(merged, adapted, atol: 1e-5)
        XCTAssertTrue(c.passed, "merged vs adapted: \(c)")
    }

    /// The mask keeps about 1 - p of the elements, scales them by 1 / (1 - p), depends only on the
    /// seed, and backward lets gradient through exactly the kept elements.
    func testDropout_maskIsSeededScaledAndSharedWithBackward() {
        let n = 40_000, p: Float = 0.25
        let x = [Float](repeating: 2, count: n)
        var y1 = [Float](repeating: 0, count: n), y2 = y1, y3 = y1
        Dropout.forward(out: &y1, inp: x, count: n, p: p, seed: 7)
        Dropout.forward(out: &y2, inp: x, count: n, p: p, seed: 7)
        Dropout.forward(out: &y3, inp: x, count: n, p: p, seed: 8)
        XCTAssertEqual(y1, y2)
        XCTAssertNotEqual(y1, y3)
        let kept = y1.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 2 / 0.75) < 1e-6 })
        XCTAssertEqual(Double(kept.count) / Double(n), 0.75, accuracy: 0.01)
        var dx = [Float](repeating: 1, count: n)
        Dropout.backward(dinp: &dx, dout: [Float](repeating: 3, count: n), count: n, p: p, seed: 7)
        for i in 0..<n { XCTAssertEqual(dx[i], y1[i] == 0 ? 1 : 1 + 3 / 0.75, accuracy: 1e-6) }
        var id = [Float](repeating: 0, count: n)
        Dropout.forward(out: &id, inp: x, count: n, p: 0, seed: 7)
        XCTAssertEqual(id, x)
    }
}
