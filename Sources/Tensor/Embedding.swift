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

/// Elementwise residual addition.
public enum Residual {
    // out: (n) = a + b (out may alias a)
    public static func forward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, count n: Int) {
        Parallel.forChunks(n, minChunk: 1 << 15) { r in
            for i in r { out[i] = a[i] + b[i] }
        }
    }

    // da += dout, db += dout
    public static func backward(da: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count n: Int) {
        Parallel.forChunks(n, minChunk: 1 << 15) { r in
            for i in r {
                da[i] += dout[i]
                db[i] += dout[i]
            }
        }
    }

    // acc += x
    public static func accumulate(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        Parallel.forChunks(n, minChunk: 1 << 15) { r in
            for i in r { acc[i] += x[i] }
        }
    }
}
