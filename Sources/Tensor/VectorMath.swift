import CKernels

/// Vectorised reductions and exponentials for the hot loops (softmax, log-softmax, SiLU).
///
/// They are C kernels (`CKernels`) so the compiler vectorises them for the CPU at hand; Swift's
/// SIMD types compile to stack spills and scalar reductions on x86-64, several times slower.
/// Sums run over 16 fixed lanes, so the bits do not depend on threads or vector width.
public enum VectorMath {
    /// The instruction set the C kernels run with: "avx512", "avx2" or "generic" (forced with
    /// RLHF_KERNELS, which must be set before the process starts).
    public static var kernelSet: String { String(cString: rk_kernel_set()) }

    /// Whether `rk_matmul_rows` runs on hardware FMA (AVX2 or AVX-512 kernels).
    public static let hasFastRowKernel: Bool = kernelSet != "generic"

    /// e^x with a Cephes polynomial (relative error about 2e-7).
    @inline(__always) public static func exp(_ x: Float) -> Float { rk_expf(x) }

    /// out[i] = exp(x[i] - shift); returns the sum of the outputs. `out` may alias `x`.
    @inline(__always)
    public static func expShiftSum(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int, shift: Float) -> Float {
        rk_exp_shift_sum(x, out, n, shift)
    }

    @inline(__always) public static func max(_ x: UnsafePointer<Float>, count n: Int) -> Float { rk_max(x, n) }

    @inline(__always) public static func logSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float { rk_logsumexp(x, n) }

    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float { rk_dot(x, y, n) }
}
