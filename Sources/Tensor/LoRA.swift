/// A low-rank adapter beside a dense layer (LoRA, Hu et al., arXiv 2106.09685, Eq. 3):
/// y = x W^T + scaling * x A^T B^T, with A: (R, C) and B: (OC, R) for a rank R much smaller than
/// C and OC. Only the adapter's part is computed here; the frozen W goes through `Linear`.
///
/// The output is a column slice of a wider buffer (stride `ldo`), so an adapter on q_proj adds
/// straight into the fused q/k/v projection output without a copy.
public enum LoRA {
    // out: (N, ·) stride ldo, columns [0, OC) += scaling * h · B^T
    // h: (N, R) = inp · A^T, written and saved for backward; inp: (N, C) (after dropout)
    // a: (R, C), b: (OC, R)
    public static func forward(
        out: UnsafeMutablePointer<Float>, ldo: Int, h: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        N: Int, C: Int, OC: Int, R: Int, scaling: Float
    ) {
        BLAS.sgemm(transB: true, M: N, N: R, K: C, A: inp, B: a, C: h)
        BLAS.sgemm(transB: true, M: N, N: OC, K: R, alpha: scaling, A: h, B: b, beta: 1, C: out, ldc: ldo)
    }

    /// As `forward`, for generation: each row by the row kernel (`Linear.forwardByRows`), so a
    /// sequence's bits do not depend on the rest of its batch. `delta` (N, OC) is scratch the
    /// caller owns (its inference workspace), so decoding allocates nothing per step.
    public static func forwardByRows(
        out: UnsafeMutablePointer<Float>, ldo: Int, h: UnsafeMutablePointer<Float>, delta: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        N: Int, C: Int, OC: Int, R: Int, scaling: Float
    ) {
        guard VectorMath.hasFastRowKernel else {
            forward(out: out, ldo: ldo, h: h, inp: inp, a: a, b: b, N: N, C: C, OC: OC, R: R, scaling: scaling)
            return
        }
        Linear.forwardByRows(out: h, inp: inp, weight: a, bias: nil, N: N, C: C, OC: R)
        Linear.forwardByRows(out: delta, inp: h, weight: b, bias: nil, N: N, C: R, OC: OC)
        for n in 0..<N {
            for o in 0..<OC { out[n * ldo + o] += scaling * delta[n * OC + o] }
        }
    }

    // dinp: (N, C) +=, da: (R, C) +=, db: (OC, R) +=; dh: (N, R) scratch, overwritten
    // dout: (N, ·) stride ldo, columns [0, OC); inp, h, a, b as in forward
    // du = scaling * dout; dB = du^T h; dh = du B; dA = dh^T inp; dinp = dh A.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>?, da: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
        dh: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, ldo: Int,
        inp: UnsafePointer<Float>, h: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        N: Int, C: Int, OC: Int, R: Int, scaling: Float
    ) {
        BLAS.sgemm(transA: true, M: OC, N: R, K: N, alpha: scaling, A: dout, lda: ldo, B: h, beta: 1, C: db)
        BLAS.sgemm(M: N, N: R, K: OC, alpha: scaling, A: dout, lda: ldo, B: b, C: dh)
        BLAS.sgemm(transA: true, M: R, N: C, K: N, A: dh, B: inp, beta: 1, C: da)
        if let dinp {
            BLAS.sgemm(M: N, N: C, K: R, A: dh, B: a, beta: 1, C: dinp)
        }
    }

    // w: (OC, C) += scaling * B · A, folding the adapter into the dense weight (PEFT's merge).
    public static func merge(
        weight w: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        C: Int, OC: Int, R: Int, scaling: Float
    ) {
        BLAS.sgemm(M: OC, N: C, K: R, alpha: scaling, A: b, B: a, beta: 1, C: w)
    }
}
