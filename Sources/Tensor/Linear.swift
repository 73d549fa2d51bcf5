import CKernels

/// A dense layer as HF stores it: weight (OC, C) = (out_features, in_features), optional bias.
public enum Linear {
    /// The row count below which a product is small (decoding), kept for callers that size
    /// their work by it.
    public static let smallRows = 16

    // out: (N, OC) = inp: (N, C) · weight^T + bias, by sgemm: the training passes and every
    // scoring forward (reference, critic, the generator's recomputed log-probabilities).
    public static func forward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, N: Int, C: Int, OC: Int
    ) {
        if let bias {
            for n in 0..<N { (out + n * OC).update(from: bias, count: OC) }
        }
        BLAS.sgemm(transB: true, M: N, N: OC, K: C, A: inp, B: weight, beta: bias == nil ? 0 : 1, C: out)
    }

    /// As `forward`, for generation: each row's outputs are computed by `rk_matmul_rows`, whose
    /// sums run in one fixed order per output whatever the other rows are. So a sequence's tokens
    /// do not depend on which sequences share its batch, its decoding group, its thread count or
    /// its generator replica; sgemm's order changes with the product's size (its small-matrix
    /// kernels below about a million multiply-adds). Large products (a prefill) split their
    /// output columns over the context's threads, which changes no sum. Without FMA (the
    /// generic kernel set) the row kernel would emulate it, so sgemm is used there and that
    /// independence is not promised.
    public static func forwardByRows(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, N: Int, C: Int, OC: Int
    ) {
        guard VectorMath.hasFastRowKernel else {
            forward(out: out, inp: inp, weight: weight, bias: bias, N: N, C: C, OC: OC)
            return
        }
        // Decoding (a few rows) stays on one thread: waking a second cost more than the half it
        // would take. A prefill splits its output columns in blocks of 16 (a multiple of the
        // kernel's output block).
        if N * C * OC < BLAS.splitWork {
            rk_matmul_rows(out, inp, weight, N, C, OC, 0, OC)
        } else {
            Parallel.forChunks((OC + 15) / 16) { (blocks: Range<Int>) in
                rk_matmul_rows(out, inp, weight, N, C, OC, blocks.lowerBound * 16, min(OC, blocks.upperBound * 16))
            }
        }
        if let bias {
            for n in 0..<N {
                for o in 0..<OC { out[n * OC + o] += bias[o] }
            }
        }
    }

    /// As `forwardByRows`, with the weight in bfloat16 (`BFloat16.round`): each value widened
    /// to float32 in registers and the sums run in float32, in the float32 row kernel's order, so
    /// the result is, bit for bit, `forwardByRows` on the widened weight, and a row's bits depend
    /// on its inputs alone, on every kernel set (the generic one emulates FMA: slow, but the
    /// same bits). Half the bytes of the float32 weight to read: what bounds a decoding step.
    public static func forwardByRows(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<UInt16>, bias: UnsafePointer<Float>?, N: Int, C: Int, OC: Int
    ) {
        if N * C * OC < BLAS.splitWork {
            rk_matmul_rows_bf16(out, inp, weight, N, C, OC, 0, OC)
        } else {
            Parallel.forChunks((OC + 15) / 16) { (blocks: Range<Int>) in
                rk_matmul_rows_bf16(out, inp, weight, N, C, OC, blocks.lowerBound * 16, min(OC, blocks.upperBound * 16))
            }
        }
        if let bias {
            for n in 0..<N {
                for o in 0..<OC { out[n * OC + o] += bias[o] }
            }
        }
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
