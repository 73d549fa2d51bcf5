import CKernels

/// Causal scaled dot-product attention with grouped-query heads, for one sequence.
///
/// Query head h reads key/value head h / (NH / NKV), as transformers' `repeat_kv` does. Q, K, V
/// are column slices of wider row-major buffers (the fused qkv projection, or the KV cache), so
/// every product is one strided sgemm and nothing is transposed or copied.
public enum Attention {
    // out: (Tq, NH*HS) row stride ldo; probs: (NH, Tq, Tk) saved for backward
    // q: (Tq, ·) stride ldq, head h at column h*HS; k, v: (Tk, ·) stride ldkv, head g at g*HS
    // Query row i is at absolute position offset+i and attends to keys 0...offset+i (Tk >= offset+Tq).
    // gaps: nil, or (Tq, 2): query row i also does not see keys gaps[2i]..<gaps[2i+1] (an empty
    // range hides nothing). A packed row of answers sharing one prompt (`PackedLayout`) hides
    // the answers before its own. The backward needs no gaps: their probabilities are 0.
    public static func forward(
        out: UnsafeMutablePointer<Float>, ldo: Int, probs: UnsafeMutablePointer<Float>,
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int,
        Tq: Int, Tk: Int, offset: Int, NH: Int, NKV: Int, HS: Int, gaps: UnsafePointer<Int32>? = nil
    ) {
        let group = NH / NKV
        let scale = 1 / Float(HS).squareRoot()
        if Tq == 1 {
            // A decoding step: one query per head, done in C (sgemm's call overhead would dominate).
            for h in 0..<NH {
                let g = h / group
                rk_attention_query(out + h * HS, probs + h * Tk, q + h * HS, k + g * HS, v + g * HS, ldkv, min(Tk, offset + 1), HS, scale)
            }
            return
        }
        for h in 0..<NH {
            let g = h / group
            let P = probs + h * Tq * Tk
            // Row blocks see keys only up to their last row: the masked corner is never computed.
            for r0 in stride(from: 0, to: Tq, by: blockRows) {
                let rows = min(blockRows, Tq - r0)
                let keys = min(Tk, offset + r0 + rows)
                let Pb = P + r0 * Tk
                BLAS.sgemm(transB: true, M: rows, N: keys, K: HS, alpha: scale, A: q + r0 * ldq + h * HS, lda: ldq,
                           B: k + g * HS, ldb: ldkv, C: Pb, ldc: Tk)
                causalSoftmax(Pb, Tq: rows, Tk: Tk, offset: offset + r0, gaps: gaps.map { $0 + 2 * r0 })
                BLAS.sgemm(M: rows, N: HS, K: keys, A: Pb, lda: Tk, B: v + g * HS, ldb: ldkv,
                           C: out + r0 * ldo + h * HS, ldc: ldo)
            }
        }
    }

    /// Query rows per block; blocks skip the keys after their last row.
    public static let blockRows = 64

    // In place over rows of P: (Tq, Tk); entries past each row's last visible key, and in its
    // gap if it has one, are set to 0.
    @inline(__always)
    static func causalSoftmax(_ P: UnsafeMutablePointer<Float>, Tq: Int, Tk: Int, offset: Int, gaps: UnsafePointer<Int32>?) {
        Parallel.forChunks(Tq, minChunk: 32) { rows in
            for i in rows {
                let visible = min(Tk, offset + i + 1)
                if let gaps, gaps[2 * i] < gaps[2 * i + 1] {
                    rk_softmax_gap(P + i * Tk, Int(gaps[2 * i]), Int(gaps[2 * i + 1]), visible, Tk)
                } else {
                    rk_softmax_prefix(P + i * Tk, visible, Tk)
                }
            }
        }
    }

    // Training-time backward for one sequence (Tq = Tk = T, offset 0).
    // dq, dk, dv +=: slices like q, k, v (strides ldq and ldkv); dout: (T, NH*HS) stride ldo;
    // scratch: (T, T) workspace.
    // dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dP * P)); dQ = scale dS K; dK = scale dS^T Q.
    public static func backward(
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, ldo: Int, probs: UnsafePointer<Float>,
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int,
        scratch: UnsafeMutablePointer<Float>, T: Int, NH: Int, NKV: Int, HS: Int
    ) {
        let group = NH / NKV
        let scale = 1 / Float(HS).squareRoot()
        for h in 0..<NH {
            let g = h / group
            let P = probs + h * T * T
            for r0 in stride(from: 0, to: T, by: blockRows) {
                let rows = min(blockRows, T - r0)
                let keys = r0 + rows
                let Pb = P + r0 * T, dO = dout + r0 * ldo + h * HS, dS = scratch + r0 * T
                BLAS.sgemm(transA: true, M: keys, N: HS, K: rows, A: Pb, lda: T, B: dO, ldb: ldo, beta: 1,
                           C: dv + g * HS, ldc: ldkv)
                BLAS.sgemm(transB: true, M: rows, N: keys, K: HS, A: dO, lda: ldo, B: v + g * HS, ldb: ldkv, C: dS, ldc: T)
                for i in 0..<rows {
                    rk_softmax_backward_prefix(dS + i * T, Pb + i * T, r0 + i + 1, keys)
                }
                BLAS.sgemm(M: rows, N: HS, K: keys, alpha: scale, A: dS, lda: T, B: k + g * HS, ldb: ldkv, beta: 1,
                           C: dq + r0 * ldq + h * HS, ldc: ldq)
                BLAS.sgemm(transA: true, M: keys, N: HS, K: rows, alpha: scale, A: dS, lda: T, B: q + r0 * ldq + h * HS, ldb: ldq,
                           beta: 1, C: dk + g * HS, ldc: ldkv)
            }
        }
    }
}
