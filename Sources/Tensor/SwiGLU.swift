/// Llama's gated MLP activation: h = silu(gate) * up, where gate and up come from one fused
/// matrix multiply (gate_proj and up_proj side by side).
public enum SwiGLU {
    // out: (N, I); gateUp: (N, 2I) with gate in columns [0, I) and up in [I, 2I)
    public static func forward(out: UnsafeMutablePointer<Float>, gateUp: UnsafePointer<Float>, N: Int, I: Int) {
        Parallel.forChunks(N, minChunk: 16) { rows in
            for n in rows {
                let g = gateUp + n * 2 * I, u = g + I, o = out + n * I
                var i = 0
                while i + 16 <= I {
                    let gv = UnsafeRawPointer(g + i).loadUnaligned(as: VectorMath.V.self)
                    let uv = UnsafeRawPointer(u + i).loadUnaligned(as: VectorMath.V.self)
                    let sig = 1 / (1 + VectorMath.exp(-gv))
                    UnsafeMutableRawPointer(o + i).storeBytes(of: gv * sig * uv, as: VectorMath.V.self)
                    i += 16
                }
                while i < I {
                    let sig = 1 / (1 + VectorMath.exp(-g[i]))
                    o[i] = g[i] * sig * u[i]
                    i += 1
                }
            }
        }
    }

    // dgateUp: (N, 2I) written (not added: it is a private intermediate); dout: (N, I)
    // d gate = dout * up * sig * (1 + g * (1 - sig)); d up = dout * g * sig
    public static func backward(dgateUp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, gateUp: UnsafePointer<Float>, N: Int, I: Int) {
        Parallel.forChunks(N, minChunk: 16) { rows in
            for n in rows {
                let g = gateUp + n * 2 * I, u = g + I, dy = dout + n * I
                let dg = dgateUp + n * 2 * I, du = dg + I
                var i = 0
                while i + 16 <= I {
                    let gv = UnsafeRawPointer(g + i).loadUnaligned(as: VectorMath.V.self)
                    let uv = UnsafeRawPointer(u + i).loadUnaligned(as: VectorMath.V.self)
                    let dyv = UnsafeRawPointer(dy + i).loadUnaligned(as: VectorMath.V.self)
                    let sig = 1 / (1 + VectorMath.exp(-gv))
                    let dgv = dyv * uv * sig * (1 + gv * (1 - sig))
                    UnsafeMutableRawPointer(dg + i).storeBytes(of: dgv, as: VectorMath.V.self)
                    UnsafeMutableRawPointer(du + i).storeBytes(of: dyv * gv * sig, as: VectorMath.V.self)
                    i += 16
                }
                while i < I {
                    let sig = 1 / (1 + VectorMath.exp(-g[i]))
                    dg[i] = dy[i] * u[i] * sig * (1 + g[i] * (1 - sig))
                    du[i] = dy[i] * g[i] * sig
                    i += 1
                }
            }
        }
    }
}
