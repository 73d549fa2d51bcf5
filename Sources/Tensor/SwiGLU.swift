import CKernels

/// Llama's gated MLP activation: h = silu(gate) * up, where gate and up come from one fused
/// matrix multiply (gate_proj and up_proj side by side).
public enum SwiGLU {
    // out: (N, I); gateUp: (N, 2I) with gate in columns [0, I) and up in [I, 2I)
    public static func forward(out: UnsafeMutablePointer<Float>, gateUp: UnsafePointer<Float>, N: Int, I: Int) {
        Parallel.forChunks(N, minChunk: 16) { rows in
            rk_swiglu_forward(out + rows.lowerBound * I, gateUp + rows.lowerBound * 2 * I, rows.count, I)
        }
    }

    // dgateUp: (N, 2I) written (not added: it is a private intermediate); dout: (N, I)
    // d gate = dout * up * sig * (1 + g * (1 - sig)); d up = dout * g * sig
    public static func backward(dgateUp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, gateUp: UnsafePointer<Float>, N: Int, I: Int) {
        Parallel.forChunks(N, minChunk: 16) { rows in
            let r = rows.lowerBound
            rk_swiglu_backward(dgateUp + r * 2 * I, dout + r * I, gateUp + r * 2 * I, rows.count, I)
        }
    }
}
