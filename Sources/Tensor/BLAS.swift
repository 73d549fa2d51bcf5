import CBLAS
import Foundation

/// The OpenBLAS library as this process loaded it.
public enum BLAS {
    /// The kernel family OpenBLAS chose when it loaded (e.g. "Haswell", "SkylakeX", "Prescott").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// OpenBLAS's own thread count: 1 once any `ComputeContext` exists (set once per process;
    /// `sgemm` splits large products over the context's threads instead).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// C = alpha * op(A) * op(B) + beta * C, all row-major. A is (M, K) after op, B is (K, N).
    /// Leading dimensions default to the packed ones; pass strides to work on column slices.
    ///
    /// A product of at least `splitWork` multiply-adds per thread is split over the calling
    /// thread's `ComputeContext` by rows of C, at multiples of `splitGranule` rows, so every
    /// part keeps OpenBLAS's register tiles: each element of C is then computed by one thread
    /// with the same reduction over K as unsplit, and the bits do not depend on the thread count.
    /// (Measured with the Prescott, Haswell and SkylakeX kernels. Cutting columns is not safe:
    /// Haswell's kernel computes a column differently near a cut wherever it falls.)
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        M: Int, N: Int, K: Int,
        alpha: Float = 1, A: UnsafePointer<Float>, lda: Int? = nil,
        B: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, C: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA ? M : K)
        let ldb = ldb ?? (transB ? K : N)
        let ldc = ldc ?? N
        if M * N * K >= 2 * splitWork && !Parallel.isInsideChunk {
            let threads = ComputeContext.current.threads
            if threads > 1 {
                splitSgemm(threads: threads, transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha,
                           A: A, lda: lda, B: B, ldb: ldb, beta: beta, C: C, ldc: ldc)
                return
            }
        }
        ComputeContext.ensureProcessBLAS()
        rawSgemm(transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha, A: A, lda: lda, B: B, ldb: ldb, beta: beta, C: C, ldc: ldc)
    }

    /// Multiply-adds per thread below which a product is not split: above OpenBLAS's
    /// small-matrix and direct-kernel thresholds (about 1M and 7.3M), so the whole and its
    /// parts take the same blocked path.
    public static let splitWork = 8 << 20

    /// A part's first row is a multiple of this: of every register tile height OpenBLAS's
    /// kernels use (Haswell's sgemm tiles rows by 12, SkylakeX's by 4 or 16).
    public static let splitGranule = 48

    @inline(__always)
    static func rawSgemm(
        transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float, A: UnsafePointer<Float>, lda: Int,
        B: UnsafePointer<Float>, ldb: Int, beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
    }

    /// One sgemm cut into parts of C's rows, each part a whole sgemm on one thread.
    static func splitSgemm(
        threads: Int, transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float, A: UnsafePointer<Float>, lda: Int,
        B: UnsafePointer<Float>, ldb: Int, beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let blocks = (M + splitGranule - 1) / splitGranule
        let parts = min(threads, blocks, M * N * K / splitWork)
        guard parts > 1 else {
            ComputeContext.ensureProcessBLAS()
            rawSgemm(transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha, A: A, lda: lda, B: B, ldb: ldb, beta: beta, C: C, ldc: ldc)
            return
        }
        Parallel.forChunks(blocks, maxParts: parts) { (_: Int, r: Range<Int>) in
            // Rows lo..<hi of op(A) and of C.
            let lo = r.lowerBound * splitGranule, hi = min(M, r.upperBound * splitGranule)
            rawSgemm(transA: transA, transB: transB, M: hi - lo, N: N, K: K, alpha: alpha,
                     A: transA ? A + lo : A + lo * lda, lda: lda, B: B, ldb: ldb, beta: beta, C: C + lo * ldc, ldc: ldc)
        }
    }

    /// The naive triple loop `sgemm` is checked against (row-major, no transposes).
    public static func naiveMatmul(
        M: Int, N: Int, K: Int, A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<M {
            for j in 0..<N {
                var acc: Double = 0
                for k in 0..<K { acc += Double(A[i * K + k]) * Double(B[k * N + j]) }
                C[i * N + j] = Float(acc)
            }
        }
    }

    /// Measures sgemm GFLOP/s on square matrices of side `n`: the machine's practical peak.
    public static func measurePeakGFLOPS(n: Int = 1024, repeats: Int = 5) -> Double {
        let a = [Float](repeating: 0.5, count: n * n)
        let b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(M: n, N: n, K: n, A: ap.baseAddress!, B: bp.baseAddress!, C: cp.baseAddress!)  // warm-up
                    for _ in 0..<repeats {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        sgemm(M: n, N: n, K: n, A: ap.baseAddress!, B: bp.baseAddress!, C: cp.baseAddress!)
                        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                        best = min(best, dt)
                    }
                }
            }
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    /// What `selfCheck` found: sgemm's largest difference from the naive loop.
    public struct SelfCheck: Sendable {
        /// The largest |sgemm - naive| over the product; +infinity when any entry of either is NaN
        /// or infinite, or the sizes differ (a broken kernel must not hide behind `max` skipping NaN).
        public let maxAbsError: Float
        /// The largest error that passes.
        public let tolerance: Float
        /// sgemm agreed with the naive loop within `tolerance`, every entry finite.
        public var passed: Bool { maxAbsError <= tolerance }

        /// Compares sgemm's `computed` product with the naive loop's `reference`.
        public init(computed: [Float], reference: [Float], tolerance: Float = 1e-4) {
            maxAbsError = SelfCheck.largestAbsoluteDifference(computed, reference)
            self.tolerance = tolerance
        }

        /// max |a[i] - b[i]|, NaN-proof: +infinity when any value is not finite or the lengths
        /// differ (Swift's `max` and `>` skip NaN, so `.max()` of an all-NaN product would pass).
        public static func largestAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
            guard a.count == b.count else { return .infinity }
            var largest: Float = 0
            for i in 0..<a.count {
                let d = abs(a[i] - b[i])
                guard a[i].isFinite, b[i].isFinite, d.isFinite else { return .infinity }
                if d > largest { largest = d }
            }
            return largest
        }
    }

    /// Multiplies random matrices with sgemm and with the naive loop and compares them. A wrong
    /// kernel for this CPU shows up here as a large (or infinite) error.
    public static func selfCheck(M: Int = 67, N: Int = 45, K: Int = 131, seed: UInt64 = 1) -> SelfCheck {
        var rng = SplitMix64(seed: seed)
        let a = (0..<(M * K)).map { _ in rng.nextFloat() * 2 - 1 }
        let b = (0..<(K * N)).map { _ in rng.nextFloat() * 2 - 1 }
        var c1 = [Float](repeating: 0, count: M * N)
        var c2 = c1
        sgemm(M: M, N: N, K: K, A: a, B: b, C: &c1)
        naiveMatmul(M: M, N: N, K: K, A: a, B: b, C: &c2)
        return SelfCheck(computed: c1, reference: c2)
    }
}
