/// RMSNorm as Llama computes it: y = x / sqrt(mean(x^2) + eps) * w.
public enum RMSNorm {
    // out: (N, C), rstd: (N) saved for backward, inp: (N, C), weight: (C)
    public static func forward(
        out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, N: Int, C: Int, eps: Float
    ) {
        Parallel.forChunks(N, minChunk: 64) { rows in
            for n in rows {
                let x = inp + n * C
                let y = out + n * C
                let ms = VectorMath.dot(x, x, count: C) / Float(C)
                let s = 1 / (ms + eps).squareRoot()
                rstd[n] = s
                for c in 0..<C { y[c] = (x[c] * s) * weight[c] }
            }
        }
    }

    // dinp: (N, C) +=, dweight: (C) += (nil for a frozen weight), dout: (N, C)
    // dx = rstd * (w*dy - xhat * mean(w*dy*xhat)), xhat = x * rstd; dw = sum_n dy * xhat.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rstd: UnsafePointer<Float>, N: Int, C: Int
    ) {
        // dweight is a reduction over rows: done serially so its bits do not depend on threads.
        if let dweight {
            for n in 0..<N {
                let x = inp + n * C, dy = dout + n * C, s = rstd[n]
                for c in 0..<C { dweight[c] += dy[c] * (x[c] * s) }
            }
        }
        Parallel.forChunks(N, minChunk: 64) { rows in
            for n in rows {
                let x = inp + n * C, dy = dout + n * C, dx = dinp + n * C, s = rstd[n]
                var dot: Float = 0
                for c in 0..<C { dot += weight[c] * dy[c] * x[c] * s }
                let m = dot / Float(C)
                for c in 0..<C { dx[c] += s * (weight[c] * dy[c] - x[c] * s * m) }
            }
        }
    }
}
