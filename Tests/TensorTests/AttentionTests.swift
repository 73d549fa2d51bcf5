import Tensor
import TestSupport
import XCTest

final class AttentionTests: XCTestCase {
    // One sequence, GQA: NH = 4 query heads over NKV = 2 key/value heads, fused qkv rows.
    // T above Attention.blockRows, so row blocks and their skipped key ranges are exercised.
    let T = 70, NH = 4, NKV = 2, HS = 4
    var ld: Int { (NH + 2 * NKV) * HS }

    func forward(_ qkv: [Float], gaps: [Int32]? = nil) -> (out: [Float], probs: [Float]) {
        var out = [Float](repeating: 0, count: T * NH * HS), probs = [Float](repeating: 0, count: NH * T * T)
        qkv.withUnsafeBufferPointer { p in
            let b = p.baseAddress!
            if let gaps {
                gaps.withUnsafeBufferPointer { g in
                    Attention.forward(out: &out, ldo: NH * HS, probs: &probs, q: b, ldq: ld, k: b + NH * HS, v: b + (NH + NKV) * HS,
                                      ldkv: ld, Tq: T, Tk: T, offset: 0, NH: NH, NKV: NKV, HS: HS, gaps: g.baseAddress)
                }
            } else {
                Attention.forward(out: &out, ldo: NH * HS, probs: &probs, q: b, ldq: ld, k: b + NH * HS, v: b + (NH + NKV) * HS,
                                  ldkv: ld, Tq: T, Tk: T, offset: 0, NH: NH, NKV: NKV, HS: HS)
            }
        }
        return (out, probs)
    }

    /// d(Σ r·out)/d qkv by the backward pass, from the forward's probabilities.
    func backward(_ qkv: [Float], probs: [Float], dout r: [Float]) -> [Float] {
        var dqkv = [Float](repeating: 0, count: T * ld)
        var scratch = [Float](repeating: 0, count: T * T)
        qkv.withUnsafeBufferPointer { p in
            dqkv.withUnsafeMutableBufferPointer { d in
                let b = p.baseAddress!, db = d.baseAddress!
                Attention.backward(dq: db, dk: db + NH * HS, dv: db + (NH + NKV) * HS, dout: r, ldo: NH * HS, probs: probs,
                                   q: b, ldq: ld, k: b + NH * HS, v: b + (NH + NKV) * HS, ldkv: ld,
                                   scratch: &scratch, T: T, NH: NH, NKV: NKV, HS: HS)
            }
        }
        return dqkv
    }

    /// A packed row: 20 shared tokens, then branches at 20, 35 and 52 (the last across the
    /// 64-row block boundary), each hiding the branches before it.
    var packedGaps: [Int32] {
        let starts = [20, 35, 52]
        return (0..<T).flatMap { t -> [Int32] in
            guard let start = starts.last(where: { $0 <= t }) else { return [0, 0] }
            return [20, Int32(start)]
        }
    }

    /// Whether query row i sees key j under `gaps`.
    func sees(_ i: Int, _ j: Int, gaps: [Int32]?) -> Bool {
        guard j <= i else { return false }
        guard let gaps else { return true }
        return !(Int(gaps[2 * i])..<Int(gaps[2 * i + 1])).contains(j)
    }

    func testPackedForward_matchesNaiveAttentionWithHiddenBranches() {
        var g = GradientCheck()
        let qkv = g.random(T * ld, scale: 2)
        let gaps = packedGaps
        let (out, probs) = forward(qkv, gaps: gaps)
        for h in 0..<NH {
            let kv = h / (NH / NKV)
            for i in 0..<T {
                let keys = (0...i).filter { sees(i, $0, gaps: gaps) }
                let s = keys.map { j in
                    (0..<HS).reduce(0.0) { $0 + Double(qkv[i * ld + h * HS + $1]) * Double(qkv[j * ld + NH * HS + kv * HS + $1]) }
                        / Double(HS).squareRoot()
                }
                let m = s.max()!
                let e = s.map { exp($0 - m) }
                let z = e.reduce(0, +)
                for d in 0..<HS {
                    var acc = 0.0
                    for (e, j) in zip(e, keys) { acc += e / z * Double(qkv[j * ld + (NH + NKV) * HS + kv * HS + d]) }
                    XCTAssertEqual(Double(out[i * NH * HS + h * HS + d]), acc, accuracy: 1e-5)
                }
                for j in 0..<T where !sees(i, j, gaps: gaps) {
                    XCTAssertEqual(probs[h * T * T + i * T + j], 0, "row \(i) must not see key \(j)")
                }
            }
        }
    }

    func testPackedBackward_matchesFiniteDifferences() {
        // The backward takes no gaps: the probabilities the forward left at 0 carry none.
        var g = GradientCheck()
        var qkv = g.random(T * ld, scale: 2)
        let r = g.random(T * NH * HS)
        let gaps = packedGaps
        let probs = forward(qkv, gaps: gaps).probs
        let dqkv = backward(qkv, probs: probs, dout: r)
        GradientCheck.check("packed attention dqkv", x: &qkv, analytic: dqkv, samples: 400) {
            GradientCheck.weightedSum(self.forward($0, gaps: gaps).out, r)
        }
    }

    func testForward_matchesNaiveCausalAttention() {
        var g = GradientCheck()
        let qkv = g.random(T * ld, scale: 2)
        let out = forward(qkv).out
        for h in 0..<NH {
            let kv = h / (NH / NKV)
            for i in 0..<T {
                var s = [Double](repeating: 0, count: i + 1)
                for j in 0...i {
                    for d in 0..<HS { s[j] += Double(qkv[i * ld + h * HS + d]) * Double(qkv[j * ld + NH * HS + kv * HS + d]) }
                    s[j] /= Double(HS).squareRoot()
                }
                let m = s.max()!
                let e = s.map { exp($0 - m) }
                let z = e.reduce(0, +)
                for d in 0..<HS {
                    var acc = 0.0
                    for j in 0...i { acc += e[j] / z * Double(qkv[j * ld + (NH + NKV) * HS + kv * HS + d]) }
                    XCTAssertEqual(Double(out[i * NH * HS + h * HS + d]), acc, accuracy: 1e-5)
                }
            }
        }
    }

    func testBackward_matchesFiniteDifferences() {
        var g = GradientCheck()
        var qkv = g.random(T * ld, scale: 2)
        let r = g.random(T * NH * HS)
        let probs = forward(qkv).probs
        let dqkv = backward(qkv, probs: probs, dout: r)
        GradientCheck.check("attention dqkv", x: &qkv, analytic: dqkv, samples: 400) {
            GradientCheck.weightedSum(self.forward($0).out, r)
        }
    }

    func testDecodeStep_matchesFullSequenceRow() {
        // Query row i alone, at offset i over keys 0...i, equals row i of the full causal pass.
        var g = GradientCheck()
        let qkv = g.random(T * ld, scale: 2)
        let full = forward(qkv).out
        let i = T - 2
        var out = [Float](repeating: 0, count: NH * HS), probs = [Float](repeating: 0, count: NH * T)
        qkv.withUnsafeBufferPointer { p in
            let b = p.baseAddress!
            Attention.forward(out: &out, ldo: NH * HS, probs: &probs, q: b + i * ld, ldq: ld, k: b + NH * HS, v: b + (NH + NKV) * HS,
                              ldkv: ld, Tq: 1, Tk: i + 1, offset: i, NH: NH, NKV: NKV, HS: HS)
        }
        let c = Closeness(out, full[(i * NH * HS)..<((i + 1) * NH * HS)], atol: 1e-6)
        XCTAssertTrue(c.passed, "one query row vs the full pass: \(c)")
    }
}

final class DecodeAttentionTests: XCTestCase {
    /// The one-query kernel (decoding) against the blocked sgemm path, with head sizes on and off
    /// the vector width.
    func testSingleQuery_matchesBlockedPath() {
        var g = GradientCheck()
        for HS in [16, 20] {
            let NH = 4, NKV = 2, Tk = 37, ld = (NH + 2 * NKV) * HS
            let qkv = g.random(Tk * ld, scale: 2)
            var viaRows = [Float](repeating: 0, count: 2 * NH * HS), probs = [Float](repeating: 0, count: 2 * NH * Tk)
            var single = [Float](repeating: 0, count: NH * HS), probs1 = [Float](repeating: 0, count: NH * Tk)
            qkv.withUnsafeBufferPointer { p in
                let b = p.baseAddress!
                // two query rows (the blocked path), the second at position Tk-1
                Attention.forward(out: &viaRows, ldo: NH * HS, probs: &probs, q: b + (Tk - 2) * ld, ldq: ld, k: b + NH * HS,
                                  v: b + (NH + NKV) * HS, ldkv: ld, Tq: 2, Tk: Tk, offset: Tk - 2, NH: NH, NKV: NKV, HS: HS)
                Attention.forward(out: &single, ldo: NH * HS, probs: &probs1, q: b + (Tk - 1) * ld, ldq: ld, k: b + NH * HS,
                                  v: b + (NH + NKV) * HS, ldkv: ld, Tq: 1, Tk: Tk, offset: Tk - 1, NH: NH, NKV: NKV, HS: HS)
            }
            let c = Closeness(single, viaRows[(NH * HS)...], atol: 1e-5)
            XCTAssertTrue(c.passed, "HS \(HS): single query vs blocked path: \(c)")
        }
    }
}
