import CKernels

/// bfloat16: the upper 16 bits of a float32 (8 exponent bits, 7 mantissa bits), the weights'
/// format for generation (`Linear.forwardByRows(out:inp:packedWeight:...)`).
public enum BFloat16 {
    /// dst[i] = src[i] rounded to bfloat16, to nearest even; a NaN stays a NaN.
    public static func round(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int) {
        rk_to_bf16(dst, src, count)
    }

    /// The float32 a bfloat16 stands for (exact).
    @inline(__always) public static func widen(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// Output columns per panel of the packed layout.
    public static let panel = 64

    /// Values of weight (OC, C) packed: whole panels of 64 output columns.
    public static func packedCount(OC: Int, C: Int) -> Int { (OC + panel - 1) / panel * panel * C }

    /// Packs weight (OC, C) into `dst` (`packedCount` values) for the bfloat16 row kernel, each
    /// value rounded to nearest even; the calling context's threads split the panels.
    public static func pack(_ weight: UnsafePointer<Float>, OC: Int, C: Int, into dst: UnsafeMutablePointer<UInt16>) {
        Parallel.forChunks((OC + panel - 1) / panel) { (panels: Range<Int>) in
            rk_pack_bf16(dst, weight, OC, C, panels.lowerBound, panels.upperBound)
        }
    }
}
