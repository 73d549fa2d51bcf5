/// Vectorised transcendental functions for the hot loops (softmax, SiLU), where libm's scalar
/// `expf` would cost more than the matrix multiplies around it.
public enum VectorMath {
    public typealias V = SIMD16<Float>

    /// e^x for each lane: Cephes' range reduction and degree-6 polynomial (relative error about
    /// 2e-7 over the float range); inputs below -87.3 give about 1e-38 rather than 0.
    @inline(__always)
    public static func exp(_ x: V) -> V {
        var x = x.clamped(lowerBound: V(repeating: -87.3), upperBound: V(repeating: 88.7))
        let fx = (x * 1.44269504088896341).rounded(.toNearestOrEven)
        x = x - fx * 0.693359375
        x = x + fx * 2.12194440e-4
        var y = V(repeating: 1.9875691500E-4)
        y = y * x + 1.3981999507E-3
        y = y * x + 8.3334519073E-3
        y = y * x + 4.1665795894E-2
        y = y * x + 1.6666665459E-1
        y = y * x + 5.0000001201E-1
        y = y * (x * x) + x + 1
        let n = SIMD16<Int32>(fx, rounding: .towardZero) &+ 127
        let pow2 = unsafeBitCast(n &<< 23, to: V.self)
        return y * pow2
    }

    /// Scalar e^x with the same polynomial, for loop tails, so that a value does not depend on
    /// where it falls in a vector.
    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(V(repeating: x))[0] }

    /// out[i] = exp(x[i] - shift), returning the sum of the outputs (accumulated in Float lanes,
    /// then reduced in a fixed order).
    @inline(__always)
    public static func expShiftSum(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int, shift: Float) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        let s = V(repeating: shift)
        while i + 16 <= n {
            let v = exp(UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - s)
            UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: V.self)
            acc += v
            i += 16
        }
        var total = acc.sum()
        while i < n {
            let e = exp(x[i] - shift)
            out[i] = e
            total += e
            i += 1
        }
        return total
    }

    /// max of x[0..<n].
    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var m = V(repeating: -.infinity)
        var i = 0
        while i + 16 <= n {
            m = pointwiseMax(m, UnsafeRawPointer(x + i).loadUnaligned(as: V.self))
            i += 16
        }
        var r = m.max()
        while i < n {
            r = Swift.max(r, x[i])
            i += 1
        }
        return r
    }

    /// Sum of x[0..<n] in a fixed order.
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            i += 16
        }
        var r = acc.sum()
        while i < n {
            r += x[i]
            i += 1
        }
        return r
    }

    /// Dot product of x and y in a fixed order.
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: V.self) * UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            i += 16
        }
        var r = acc.sum()
        while i < n {
            r += x[i] * y[i]
            i += 1
        }
        return r
    }
}
