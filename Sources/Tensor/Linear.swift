import CKernels

/// A dense layer as HF stores it: weight (OC, C) = (out_features, in_features), optional bias.
public enum Linear {
    /// Below this many rows the forward uses `rk_matmul_rows` instead of sgemm (where the CPU
    /// has FMA; the baseline build would emulate it).
    public static let smallRows = 16

    // out: (N, OC) = inp: (N, C) · weight^T + bias
    public static func forward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, N: Int, C: Int, OC: Int
    ) {
        if N <= smallRows && VectorMath.hasFastRowKernel {
            // Decoding: a few rows against a large weight, on one thread: splitting it measured
            // slower, the wake-up of a second thread costing more than the half it would take.
            rk_matmul_rows(out, inp, weight, N, C, OC, 0, OC)
            if let bias {
                for n in 0..<N {
                    for o in 0..<OC { out[n * OC + o] += bias[o] }
                }
            }
            return
        }
        if let bias {
            for n in 0..<N { (out + n * OC).update(from: bias, count: OC) }
        }
        BLAS.sgemm(transB: true, M: N, N: OC, K: C, A: inp, B: weight, beta: bias == nil ? 0 : 1, C: out)
    }

    // dinp: (N, C) +=, dweight: (OC, C) +=, dbias: (OC) +=; dout: (N, OC)
    // Each gradient is optional: the first layer's input (the embedding) may not need dinp, and a
    // frozen weight (the base model under LoRA) needs no dweight, which is two thirds of the work.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, N: Int, C: Int, OC: Int
    ) {
        if let dinp {
            BLAS.sgemm(M: N, N: C, K: OC, A: dout, B: weight, beta: 1, C: dinp)
        }
        if let dweight {
            BLAS.sgemm(transA: true, M: OC, N: C, K: N, A: dout, B: inp, beta: 1, C: dweight)
        }
        if let dbias {
            for n in 0..<N {
                let g = dout + n * OC
                for o in 0..<OC { dbias[o] += g[o] }
            }
        }
    }
}
