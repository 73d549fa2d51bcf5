/// Inverted dropout whose mask is a pure function of (seed, element index).
///
/// Each element draws from a counter-based hash (SplitMix64's output function at state
/// seed + (i + 1) * gamma), so backward regenerates the mask instead of storing it, a pass can be
/// replayed bit for bit from its seed, and the result does not depend on how rows are split
/// over threads.
public enum Dropout {
    // out: (n) = inp * keep(i) / (1 - p), keep(i) with probability 1 - p; out may alias inp.
    public static func forward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int, p: Float, seed: UInt64
    ) {
        let threshold = threshold53(p), scale = 1 / (1 - p)
        Parallel.forChunks(n, minChunk: 1 << 14) { r in
            for i in r { out[i] = keeps(i, seed: seed, threshold: threshold) ? inp[i] * scale : 0 }
        }
    }

    // dinp: (n) += dout * keep(i) / (1 - p), with the mask forward drew from the same seed.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count n: Int, p: Float, seed: UInt64
    ) {
        let threshold = threshold53(p), scale = 1 / (1 - p)
        Parallel.forChunks(n, minChunk: 1 << 14) { r in
            for i in r where keeps(i, seed: seed, threshold: threshold) { dinp[i] += dout[i] * scale }
        }
    }

    /// Whether element `i` survives: its 53-bit uniform draw is at least p (given as p * 2^53).
    @inline(__always)
    public static func keeps(_ i: Int, seed: UInt64, threshold: UInt64) -> Bool {
        var z = seed &+ UInt64(truncatingIfNeeded: i &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) >> 11 >= threshold
    }

    /// p in [0, 1) as a threshold on 53-bit draws.
    public static func threshold53(_ p: Float) -> UInt64 {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        return UInt64((Double(p) * 0x1p53).rounded(.up))
    }
}
