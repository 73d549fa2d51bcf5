import Tensor
import TestSupport
import XCTest

final class KernelGradientTests: XCTestCase {
    func testRMSNorm_gradientsMatchFiniteDifferences() {
        var g = GradientCheck()
        let N = 5, C = 12
        var x = g.random(N * C), w = g.random(C)
        let r = g.random(N * C)
        func forward(_ x: [Float], _ w: [Float]) -> ([Float], [Float]) {
            var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
            RMSNorm.forward(out: &out, rstd: &rstd, inp: x, weight: w, N: N, C: C, eps: 1e-5)
            return (out, rstd)
        }
        let (_, rstd) = forward(x, w)
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C)
        RMSNorm.backward(dinp: &dx, dweight: &dw, dout: r, inp: x, weight: w, rstd: rstd, N: N, C: C)
        GradientCheck.check("rmsnorm dx", x: &x, analytic: dx) { GradientCheck.weightedSum(forward($0, w).0, r) }
        let xs = x
        GradientCheck.check("rmsnorm dw", x: &w, analytic: dw) { GradientCheck.weightedSum(forward(xs, $0).0, r) }
    }

    func testLinear_gradientsMatchFiniteDifferences() {
        var g = GradientCheck()
        let N = 4, C = 6, OC = 5
        var x = g.random(N * C), w = g.random(OC * C), b = g.random(OC)
        let r = g.random(N * OC)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N * OC)
            Linear.forward(out: &out, inp: x, weight: w, bias: b, N: N, C: C, OC: OC)
            return out
        }
        // forward against a naive loop
        let out = forward(x, w, b)
        for n in 0..<N {
            for o in 0..<OC {
                var acc = b[o]
                for c in 0..<C { acc += x[n * C + c] * w[o * C + c] }
                XCTAssertEqual(out[n * OC + o], acc, accuracy: 1e-5)
            }
        }
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: OC * C), db = [Float](repeating: 0, count: OC)
        Linear.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: r, inp: x, weight: w, N: N, C: C, OC: OC)
        let (x0, w0, b0) = (x, w, b)
        GradientCheck.check("linear dx", x: &x, analytic: dx) { GradientCheck.weightedSum(forward($0, w0, b0), r) }
        GradientCheck.check("linear dw", x: &w, analytic: dw) { GradientCheck.weightedSum(forward(x0, $0, b0), r) }
        GradientCheck.check("linear db", x: &b, analytic: db) { GradientCheck.weightedSum(forward(x0, w0, $0), r) }
    }

    func testSwiGLU_gradientsMatchFiniteDifferences() {
        var g = GradientCheck()
        let N = 3, I = 21  // 21 exercises both the 16-wide vector body and the scalar tail
        var gu = g.random(N * 2 * I, scale: 3)
        let r = g.random(N * I)
        func forward(_ gu: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N * I)
            SwiGLU.forward(out: &out, gateUp: gu, N: N, I: I)
            return out
        }
        let out = forward(gu)
        for n in 0..<N {
            for i in 0..<I {
                let gate = Double(gu[n * 2 * I + i]), up = Double(gu[n * 2 * I + I + i])
                XCTAssertEqual(Double(out[n * I + i]), gate / (1 + exp(-gate)) * up, accuracy: 1e-5)
            }
        }
        var d = [Float](repeating: 0, count: N * 2 * I)
        SwiGLU.backward(dgateUp: &d, dout: r, gateUp: gu, N: N, I: I)
        GradientCheck.check("swiglu", x: &gu, analytic: d, samples: 200) { GradientCheck.weightedSum(forward($0), r) }
    }

    func testEmbedding_backwardScattersRepeatedIds() {
        var g = GradientCheck()
        let V = 7, C = 4, N = 5
        var wte = g.random(V * C)
        let ids: [Int32] = [3, 1, 3, 6, 0]
        let r = g.random(N * C)
        func forward(_ w: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N * C)
            Embedding.forward(out: &out, ids: ids, wte: w, N: N, C: C)
            return out
        }
        var dw = [Float](repeating: 0, count: V * C)
        Embedding.backward(dwte: &dw, dout: r, ids: ids, N: N, C: C)
        GradientCheck.check("embedding", x: &wte, analytic: dw) { GradientCheck.weightedSum(forward($0), r) }
    }

    func testRotary_gradientIsInverseRotation() {
        var g = GradientCheck()
        let N = 4, H = 3, HS = 8, ld = H * HS + 5  // rows wider than the heads, as in the fused qkv buffer
        let table = RotaryTable(headDim: HS, maxPositions: 16, theta: 10000)
        let pos: [Int32] = [0, 3, 7, 15]
        var x = g.random(N * ld)
        let r = g.random(N * ld)
        func forward(_ x: [Float]) -> [Float] {
            var y = x
            Rotary.apply(&y, ld: ld, positions: pos, N: N, H: H, HS: HS, table: table)
            return y
        }
        var d = r
        Rotary.apply(&d, ld: ld, positions: pos, N: N, H: H, HS: HS, table: table, inverse: true)
        GradientCheck.check("rotary", x: &x, analytic: d, samples: 200) { GradientCheck.weightedSum(forward($0), r) }
        // position 0 is the identity; inverse undoes forward
        let y = forward(x)
        for c in 0..<(H * HS) { XCTAssertEqual(y[c], x[c], accuracy: 1e-7) }
        var back = y
        Rotary.apply(&back, ld: ld, positions: pos, N: N, H: H, HS: HS, table: table, inverse: true)
        for i in 0..<x.count { XCTAssertEqual(back[i], x[i], accuracy: 1e-5) }
    }

    func testLogProbs_matchNaiveAndGradients() {
        var g = GradientCheck()
        let N = 4, V = 37
        var logits = g.random(N * V, scale: 4)
        let targets: [Int32] = [5, -1, 36, 0]
        let r = g.random(N)
        func forward(_ l: [Float]) -> ([Float], [Float]) {
            var lp = [Float](repeating: 0, count: N), lse = [Float](repeating: 0, count: N)
            LogProbs.forward(logprobs: &lp, lse: &lse, logits: l, targets: targets, N: N, V: V)
            return (lp, lse)
        }
        let (lp, lse) = forward(logits)
        for n in 0..<N where targets[n] >= 0 {
            let row = (0..<V).map { Double(logits[n * V + $0]) }
            let m = row.max()!
            let l = m + log(row.map { exp($0 - m) }.reduce(0, +))
            XCTAssertEqual(Double(lp[n]), row[Int(targets[n])] - l, accuracy: 1e-5)
        }
        XCTAssertEqual(lp[1], 0)
        var d = [Float](repeating: 0, count: N * V)
        LogProbs.backward(dlogits: &d, dlogprobs: r, logits: logits, lse: lse, targets: targets, N: N, V: V)
        GradientCheck.check("logprobs", x: &logits, analytic: d, samples: 200) { GradientCheck.weightedSum(forward($0).0, r) }
        // in place (dlogits aliasing logits) gives the same result
        var inPlace = logits
        inPlace.withUnsafeMutableBufferPointer { p in
            LogProbs.backward(dlogits: p.baseAddress!, dlogprobs: r, logits: p.baseAddress!, lse: lse, targets: targets, N: N, V: V)
        }
        XCTAssertEqual(inPlace, d)
    }

    func testCrossEntropy_ignoresNegativeTargets() {
        let lp: [Float] = [-1, -2, -3]
        let t: [Int32] = [4, -1, 2]
        var d = [Float](repeating: 9, count: 3)
        let (loss, count) = LogProbs.crossEntropy(dlogprobs: &d, logprobs: lp, targets: t, N: 3)
        XCTAssertEqual(count, 2)
        XCTAssertEqual(loss, 2, accuracy: 1e-6)
        XCTAssertEqual(d, [-0.5, 0, -0.5])
    }

    func testVectorExp_isAccurate() {
        let xs = Array(stride(from: Float(-80), to: 80, by: 0.0137))
        let c = Closeness(xs.map { Double(VectorMath.exp($0)) }, xs.map { exp(Double($0)) }, atol: 0, rtol: 5e-7) { "exp(\(xs[$0]))" }
        XCTAssertTrue(c.passed, "relative error of VectorMath.exp: \(c)")
    }
}

final class LinearPathTests: XCTestCase {
    /// Both forward paths (few rows: rk_matmul_rows; many: sgemm) against a naive loop, with
    /// sizes that are not multiples of the vector width.
    func testForward_bothPathsMatchNaive() {
        var g = GradientCheck()
        for N in [1, 3, 5, Linear.smallRows, Linear.smallRows + 7] {
            let C = 37, OC = 130
            let x = g.random(N * C), w = g.random(OC * C), b = g.random(OC)
            var out = [Float](repeating: 0, count: N * OC)
            Linear.forward(out: &out, inp: x, weight: w, bias: b, N: N, C: C, OC: OC)
            for n in 0..<N {
                for o in 0..<OC {
                    var acc = Double(b[o])
                    for c in 0..<C { acc += Double(x[n * C + c]) * Double(w[o * C + c]) }
                    XCTAssertEqual(Double(out[n * OC + o]), acc, accuracy: 1e-4, "N=\(N) row \(n) col \(o)")
                }
            }
        }
    }
}
