import Foundation

/// How a checkpoint stretches RoPE beyond the context it was pre-trained on: transformers'
/// `rope_type` values that change only the frequencies (the ones that also rescale attention or
/// depend on the sequence length, `yarn`, `longrope` and `dynamic`, are not implemented).
public enum RopeScaling: Sendable, Equatable, Codable {
    /// Position interpolation (`linear`): every frequency divided by `factor`.
    case linear(factor: Double)
    /// Llama 3.1's (`llama3`): wavelengths longer than `originalMaxPositions / lowFreqFactor`
    /// divided by `factor`, shorter than `originalMaxPositions / highFreqFactor` kept, the band
    /// between blended linearly in `originalMaxPositions / wavelength`.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)

    /// The HF `rope_type` name.
    public var typeName: String {
        switch self {
        case .linear: "linear"
        case .llama3: "llama3"
        }
    }

    /// `invFreq` scaled, in Float32 step for step as transformers' `_compute_*_parameters` do, so
    /// the angles round as the reference's.
    public func scale(_ invFreq: [Float]) -> [Float] {
        switch self {
        case .linear(let factor):
            return invFreq.map { $0 / Float(factor) }
        case .llama3(let factor, let lowFreqFactor, let highFreqFactor, let originalMaxPositions):
            let factor = Float(factor), low = Float(lowFreqFactor), high = Float(highFreqFactor)
            let context = Float(originalMaxPositions)
            let lowFreqWavelength = context / low, highFreqWavelength = context / high
            // `number / tensor` is `tensor.reciprocal() * number` in PyTorch: the same here, so
            // the thresholds and the blend round the same way.
            return invFreq.map { f in
                let wavelength = (1 / f) * Float(2 * Double.pi)
                if wavelength < highFreqWavelength { return f }
                if wavelength > lowFreqWavelength { return f / factor }
                let smooth = ((1 / wavelength) * context - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
    }
}

/// Rotary position embeddings in HF Llama's "rotate half" layout: dimension i pairs with
/// i + HS/2 (not the interleaved pairs of the original paper).
public struct RotaryTable: Sendable {
    public let headDim: Int
    public let maxPositions: Int
    /// (maxPositions, headDim/2)
    public let cos: [Float]
    public let sin: [Float]

    /// Angles are computed the way transformers does, in Float32 (inv_freq = 1 / theta^(2i/HS),
    /// scaled if the checkpoint says so, angle = position * inv_freq), so positions far from 0
    /// round like the reference.
    public init(headDim: Int, maxPositions: Int, theta: Double, scaling: RopeScaling? = nil) {
        self.headDim = headDim
        self.maxPositions = maxPositions
        let half = headDim / 2
        var invFreq: [Float] = (0..<half).map { i in
            Float(1) / Float(pow(theta, Double(2 * i) / Double(headDim)))
        }
        if let scaling { invFreq = scaling.scale(invFreq) }
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
