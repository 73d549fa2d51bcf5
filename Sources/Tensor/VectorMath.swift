import CKernels

/// Swift's view of the C kernels: which instruction set they run with, and the scalar helpers
/// the Swift kernels need (the hot loops themselves call `CKernels` directly).
/// The kernels are C because Swift's SIMD types compile to stack spills and scalar reductions on
/// x86-64 (Docs/architecture.md); lanes combine in a fixed order, so the bits do not depend on
/// threads or on the instruction set.
public enum VectorMath {
    /// The instruction set the C kernels run with: "avx512", "avx2" or "generic" (forced with
    /// RLHF_KERNELS, which must be set before the process starts).
    public static var kernelSet: String { String(cString: rk_kernel_set()) }

    /// Whether `rk_matmul_rows` runs on hardware FMA (AVX2 or AVX-512 kernels).
    public static let hasFastRowKernel: Bool = kernelSet != "generic"

    /// e^x with a Cephes polynomial (relative error about 2e-7).
    @inline(__always) public static func exp(_ x: Float) -> Float { rk_expf(x) }

    /// Dot product, summed in the kernels' fixed lane order.
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float { rk_dot(x, y, n) }
}
