import Foundation
import Tensor

/// How the next token is chosen from the logits.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax); otherwise logits are divided by it before sampling.
    public var temperature: Float = 0
    /// Keep only the k most likely tokens; 0 keeps all.
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.
    public var topP: Float = 1
    public var seed: UInt64 = 0

    public static let greedy = SamplingParameters()

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public var isGreedy: Bool { temperature <= 0 }
}

/// Picks tokens from logits: greedy, or temperature, top-k then top-p (the order transformers
/// applies its warpers in), drawing from a seeded generator so runs repeat exactly.
public struct Sampler {
    public let parameters: SamplingParameters
    var rng: SplitMix64

    /// - Parameters:
    ///   - parameters: how to pick.
    ///   - stream: which of the seed's independent streams to draw from (the generator gives each
    ///     sequence its own, so a sequence's samples do not depend on how the batch is split).
    public init(_ parameters: SamplingParameters, stream: Int = 0) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed ^ (UInt64(stream) &* 0x9E37_79B9_7F4A_7C15))
        if stream != 0 { _ = rng.next() }
    }

    /// The index of the largest logit (the first one on ties, as torch.argmax).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in logits.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }

    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        if parameters.isGreedy { return Sampler.argmax(logits) }
        let t = parameters.temperature
        // Candidates sorted by logit, descending (ties by index, for determinism).
        var order = Array(0..<logits.count)
        order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if parameters.topK > 0 && parameters.topK < order.count { order.removeLast(order.count - parameters.topK) }
        let m = logits[order[0]] / t
        var probs = order.map { Double(exp(logits[$0] / t - m)) }
        var z = probs.reduce(0, +)
        if parameters.topP < 1 {
            var cum = 0.0
            var keep = 0
            for p in probs {
                cum += p / z
                keep += 1
                if cum >= Double(parameters.topP) { break }
            }
            order.removeLast(order.count - keep)
            probs.removeLast(probs.count - keep)
            z = probs.reduce(0, +)
        }
        var u = rng.nextDouble() * z
        for (i, p) in probs.enumerated() {
            u -= p
            if u < 0 { return order[i] }
        }
        return order[order.count - 1]
    }
}
