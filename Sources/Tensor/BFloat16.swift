import CKernels

/// bfloat16: the upper 16 bits of a float32 (8 exponent bits, 7 mantissa bits), the weights'
/// format for generation (`Linear.forwardByRows(out:inp:weight:...)` with `UInt16` weights).
public enum BFloat16 {
    /// dst[i] = src[i] rounded to bfloat16, to nearest even; a NaN stays a NaN.
    public static func round(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int) {
        rk_to_bf16(dst, src, count)
    }

    /// The float32 a bfloat16 stands for (exact).
    @inline(__always) public static func widen(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
}
