/// Token embedding lookup: out[n, :] = wte[ids[n], :].
public enum Embedding {
    // out: (N, C), ids: (N), wte: (V, C)
    public static func forward(
        out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, wte: UnsafePointer<Float>, N: Int, C: Int
    ) {
        for n in 0..<N {
            (out + n * C).update(from: wte + Int(ids[n]) * C, count: C)
        }
    }

    // dwte: (V, C) += scatter of dout: (N, C) by ids. Serial so repeated ids add in one order.
    public static func backward(
        dwte: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>, N: Int, C: Int
    ) {
        for n in 0..<N {
            let d = dwte + Int(ids[n]) * C
            let g = dout + n * C
            for c in 0..<C { d[c] += g[c] }
        }
    }
}

/// Residual addition, in place. Its backward is the identity (the gradient flows to both
/// branches unchanged), so the model's backward needs no call for it.
public enum Residual {
    // acc += x
    public static func accumulate(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        Parallel.forChunks(n, minChunk: 1 << 15) { r in
            for i in r { acc[i] += x[i] }
        }
    }
}
