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

    /// Bytes of weight from which a row-kernel product splits its columns over the context's
    /// threads whatever its row count: such a weight streams from memory at every decoding step,
    /// and two cores reading half each halve the step (a 126M model's products, 1-50 MB; the
    /// 5M benchmark model's stay below and run on one thread).
    public static let splitWeightBytes = 1 << 20

    /// Whether a row-kernel product splits its output columns over the calling context's threads.
    @inline(__always)
    static func splits(N: Int, C: Int, OC: Int, weightBytes: Int) -> Bool {
        N * C * OC >= BLAS.splitWork || C * OC * weightBytes >= splitWeightBytes
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
        // A small product stays on one thread: waking a second costs more than the half it would
        // take. A prefill, or a weight too large to stay in cache, splits its output columns in
        // blocks of 16 (a multiple of the kernel's output block).
        if !splits(N: N, C: C, OC: OC, weightBytes: 4) {
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

    /// As `forwardByRows`, with the weight in bfloat16, packed by `BFloat16.pack`: each value
    /// widened to float32 in registers, and each output one chain of float32 FMAs over
    /// c = 0, 1, ..., C-1, so a row's bits depend on its inputs alone, on every kernel set (the
    /// generic one emulates FMA: slow, but the same bits) and at any thread count (threads split
    /// the panels of 64 output columns). Half the bytes of the float32 weight to read: what bounds
    /// a decoding step.
    public static func forwardByRows(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        packedWeight weight: UnsafePointer<UInt16>, bias: UnsafePointer<Float>?, N: Int, C: Int, OC: Int
    ) {
        let panel = BFloat16.panel
        if !splits(N: N, C: C, OC: OC, weightBytes: 2) {
            rk_matmul_rows_bf16(out, inp, weight, N, C, OC, 0, OC)
        } else {
            Parallel.forChunks((OC + panel - 1) / panel) { (panels: Range<Int>) in
                rk_matmul_rows_bf16(out, inp, weight, N, C, OC, panels.lowerBound * panel, min(OC, panels.upperBound * panel))
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
