import CKernels
import Tensor
import TestSupport
import XCTest

/// The bfloat16 row kernel of generation: rounding to nearest even, the bits of a plain FMA loop
/// on the rounded weights, a row's bits independent of its batch, position and thread count, and
/// every kernel set giving the same bits.
final class BFloat16KernelTests: XCTestCase {
    private func rounded(_ values: [Float]) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: values.count)
        BFloat16.round(values, into: &out, count: values.count)
        return out
    }

    func testRounding_isToNearestEven() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_0000, 0x3F80),  // 1 is exact
            (0x3F80_8000, 0x3F80),  // halfway, even below: down
            (0x3F81_8000, 0x3F82),  // halfway, odd below: up
            (0x3F80_8001, 0x3F81),  // above halfway: up
            (0x3F80_7FFF, 0x3F80),  // below halfway: down
            (0xBF81_8000, 0xBF82),  // the sign is kept
            (0x7F7F_FFFF, 0x7F80),  // the largest float rounds to infinity
            (0x7F80_0000, 0x7F80),  // infinity stays
            (0x0000_0001, 0x0000),  // the smallest subnormal rounds to 0
        ]
        let got = rounded(cases.map { Float(bitPattern: $0.0) })
        for (i, c) in cases.enumerated() {
            XCTAssertEqual(got[i], c.1, "bits \(String(c.0, radix: 16)) -> \(String(got[i], radix: 16)), expected \(String(c.1, radix: 16))")
        }
        let nan = rounded([Float.nan, -Float.nan, Float(bitPattern: 0x7F80_0001)])
        XCTAssertTrue(nan.allSatisfy { BFloat16.widen($0).isNaN }, "NaNs stay NaN: \(nan)")
        // The nearest bfloat16 of random values: no other is closer.
        var g = GradientCheck()
        let xs = g.random(2000, scale: 40)
        for (x, h) in zip(xs, rounded(xs)) {
            let here = abs(BFloat16.widen(h) - x)
            XCTAssertLessThanOrEqual(here, abs(BFloat16.widen(h &+ 1) - x), "\(x)")
            XCTAssertLessThanOrEqual(here, abs(BFloat16.widen(h &- 1) - x), "\(x)")
        }
    }

    private func packed(_ w: [Float], OC: Int, C: Int) -> [UInt16] {
        var out = [UInt16](repeating: 0xFFFF, count: BFloat16.packedCount(OC: OC, C: C))
        BFloat16.pack(w, OC: OC, C: C, into: &out)
        return out
    }

    /// Sizes that are not multiples of the vector width or of the 64-column panel, and one of
    /// several panels.
    private static let shapes = [(C: 37, OC: 13), (C: 64, OC: 130), (C: 100, OC: 7), (C: 5, OC: 3), (C: 20, OC: 200)]

    /// The kernel is, bit for bit, the plain loop `s = fma(x[c], w[c], s)` over c in order on the
    /// weights rounded to bfloat16 (whatever the row count, which picks the register blocks),
    /// and close to the exact sum.
    func testRowKernel_isTheSequentialFMASumOfTheRoundedWeights() {
        var g = GradientCheck()
        for (C, OC) in Self.shapes {
            for M in [1, 2, 3, 4, 5, 6, 7, 8, 9, 13] {
                let x = g.random(M * C), w = g.random(OC * C), b = g.random(OC)
                let widened = rounded(w).map(BFloat16.widen)
                var out16 = [Float](repeating: 0, count: M * OC)
                Linear.forwardByRows(out: &out16, inp: x, packedWeight: packed(w, OC: OC, C: C), bias: b, N: M, C: C, OC: OC)
                var plain = [Float](repeating: 0, count: M * OC)
                for m in 0..<M {
                    for o in 0..<OC {
                        var s: Float = 0
                        for c in 0..<C { s = s.addingProduct(x[m * C + c], widened[o * C + c]) }
                        plain[m * OC + o] = s + b[o]
                    }
                }
                XCTAssertEqual(out16.map(\.bitPattern), plain.map(\.bitPattern), "C \(C) OC \(OC) M \(M)")
                var naive = [Double](repeating: 0, count: M * OC)
                for m in 0..<M {
                    for o in 0..<OC {
                        naive[m * OC + o] = Double(b[o]) + (0..<C).reduce(0.0) { $0 + Double(x[m * C + $1]) * Double(widened[o * C + $1]) }
                    }
                }
                let c = Closeness(out16.map(Double.init), naive, atol: 1e-5, rtol: 1e-5) { "row \($0 / OC) col \($0 % OC)" }
                XCTAssertTrue(c.passed, "C \(C) OC \(OC) M \(M): \(c)")
            }
        }
    }

    /// Each row alone gives the bits it gets in a batch of M, wherever it stands, with one or
    /// two threads; the large product (past `BLAS.splitWork`) splits its columns over threads.
    func testRow_hasTheSameBitsAloneAndInAnyBatch_atAnyThreadCount() {
        var g = GradientCheck()
        for (C, OC, Ms) in [(37, 130, [2, 3, 4, 5, 8, 13]), (257, 2051, [17])] {
            let Mmax = Ms.max()!
            let x = g.random(Mmax * C), half = packed(g.random(OC * C), OC: OC, C: C)
            var alone = [[Float]]()
            for m in 0..<Mmax {
                var out = [Float](repeating: 0, count: OC)
                Array(x[(m * C)..<((m + 1) * C)]).withUnsafeBufferPointer { row in
                    Linear.forwardByRows(out: &out, inp: row.baseAddress!, packedWeight: half, bias: nil, N: 1, C: C, OC: OC)
                }
                alone.append(out)
            }
            for M in Ms {
                for threads in [1, 2] {
                    var out = [Float](repeating: 0, count: M * OC)
                    ComputeContext(threads: threads).run {
                        Linear.forwardByRows(out: &out, inp: x, packedWeight: half, bias: nil, N: M, C: C, OC: OC)
                    }
                    for m in 0..<M {
                        XCTAssertEqual(out[(m * OC)..<((m + 1) * OC)].map(\.bitPattern), alone[m].map(\.bitPattern),
                                       "C \(C) OC \(OC): row \(m) of \(M), \(threads) threads")
                    }
                }
            }
        }
    }

    /// The AVX-512, AVX2 and generic builds of both row kernels give the same bits (each set this
    /// CPU can run, called directly; `KernelSetTests` runs whole generations under RLHF_KERNELS).
    func testKernelSets_giveTheSameBits() {
        var g = GradientCheck()
        // 6 rows fill AVX-512's widest block; 7 and 8 (a decoding step of 8) add a remainder block.
        for (C, OC) in Self.shapes {
            for M in [6, 7, 8] {
                let x = g.random(M * C), w = g.random(OC * C), half = packed(w, OC: OC, C: C)
                for bf16 in [Int32(0), 1] {
                    var results: [Int32: [UInt32]] = [:]
                    for set in Int32(0)...2 {
                        var out = [Float](repeating: 0, count: M * OC)
                        let status = bf16 == 1
                            ? rk_matmul_rows_in_set(set, 1, &out, x, half, M, C, OC, 0, OC)
                            : rk_matmul_rows_in_set(set, 0, &out, x, w, M, C, OC, 0, OC)
                        if status == 0 { results[set] = out.map(\.bitPattern) }
                    }
                    XCTAssertNotNil(results[0], "the generic set always runs")
                    XCTAssertEqual(Set(results.values).count, 1, "C \(C) OC \(OC) M \(M) bf16 \(bf16): sets \(results.keys.sorted()) disagree")
                }
            }
        }
    }
}
