import Foundation

/// Rotary position embeddings in HF Llama's "rotate half" layout: dimension i pairs with
/// i + HS/2 (not the interleaved pairs of the original paper).
public struct RotaryTable: Sendable {
    public let headDim: Int
    public let maxPositions: Int
    /// (maxPositions, headDim/2)
    public let cos: [Float]
    public let sin: [Float]

    /// Angles are computed the way transformers does, in Float32 (inv_freq = 1 / theta^(2i/HS),
    /// angle = position * inv_freq), so positions far from 0 round like the reference.
    public init(headDim: Int, maxPositions: Int, theta: Double) {
        self.headDim = headDim
        self.maxPositions = maxPositions
        let half = headDim / 2
        let invFreq: [Float] = (0..<half).map { i in
            Float(1) / Float(pow(theta, Double(2 * i) / Double(headDim)))
        }
        var c = [Float](repeating: 0, count: maxPositions * half)
        var s = c
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Float(p) * invFreq[i]
                c[p * half + i] = Float(Foundation.cos(Double(angle)))
                s[p * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        cos = c
        sin = s
    }
}

public enum Rotary {
    // x: (N rows, stride ld), heads at columns h*HS for h in 0..<H, rotated in place.
    // positions: (N) absolute position of each row. inverse rotates by -angle (the backward).
    public static func apply(
        _ x: UnsafeMutablePointer<Float>, ld: Int, positions: UnsafePointer<Int32>,
        N: Int, H: Int, HS: Int, table: RotaryTable, inverse: Bool = false
    ) {
        let half = HS / 2
        table.cos.withUnsafeBufferPointer { cosT in
            table.sin.withUnsafeBufferPointer { sinT in
                let cb = cosT.baseAddress!, sb = sinT.baseAddress!
                Parallel.forChunks(N, minChunk: 64) { rows in
                    for n in rows {
                        let p = Int(positions[n])
                        precondition(p >= 0 && p < table.maxPositions, "position \(p) beyond the rotary table (\(table.maxPositions))")
                        let cr = cb + p * half, sr = sb + p * half
                        for h in 0..<H {
                            let v = x + n * ld + h * HS
                            for i in 0..<half {
                                let a = v[i], b = v[i + half]
                                let c = cr[i], s = inverse ? -sr[i] : sr[i]
                                v[i] = a * c - b * s
                                v[i + half] = b * c + a * s
                            }
                        }
                    }
                }
            }
        }
    }
}
