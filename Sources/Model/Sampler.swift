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
    /// Scratch reused by every `sample` call: the candidates and their unnormalised probabilities.
    private var order: [Int] = []
    private var probs: [Double] = []

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

    /// Picks one token. Greedy is an argmax; otherwise only the candidates top-k and top-p need
    /// ordering: with neither, the draw walks the vocabulary in index order with no sort.
    /// Scratch arrays are kept between calls, so a decoding loop allocates nothing per token.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        sampleWithLogProb(logits).token
    }

    /// Picks one token as `sample` does (the same draws) and returns with it its log-probability
    /// under the distribution it was drawn from: softmax(logits / temperature) renormalised over
    /// the tokens top-k and top-p keep. Greedy picks have log-probability 0 (a point mass).
    public mutating func sampleWithLogProb(_ logits: UnsafeBufferPointer<Float>) -> (token: Int, logProb: Float) {
        if parameters.isGreedy { return (Sampler.argmax(logits), 0) }
        let t = parameters.temperature
        let V = logits.count
        order.removeAll(keepingCapacity: true)
        if parameters.topK > 0 && parameters.topK < V {
            selectTopK(logits, k: parameters.topK)
        } else if parameters.topP < 1 {
            order.append(contentsOf: 0..<V)
            order.sort { Sampler.ranksBefore(logits, $0, $1) }
        } else {
            order.append(contentsOf: 0..<V)
        }
        var m = -Float.infinity
        for i in order { m = Swift.max(m, logits[i]) }
        probs.removeAll(keepingCapacity: true)
        var z = 0.0
        for i in order {
            let p = Double(exp(logits[i] / t - m / t))
            probs.append(p)
            z += p
        }
        if parameters.topP < 1 {
            // `order` is sorted here: keep the smallest prefix whose probability reaches p.
            var cum = 0.0
            var keep = 0
            for p in probs {
                cum += p / z
                keep += 1
                if cum >= Double(parameters.topP) { break }
            }
            z = probs[0..<keep].reduce(0, +)
            probs.removeLast(probs.count - keep)
        }
        var u = rng.nextDouble() * z
        var chosen = probs.count - 1
        for (i, p) in probs.enumerated() {
            u -= p
            if u < 0 {
                chosen = i
                break
            }
        }
        // log(p_i / z) from the scaled logit itself, finite even where exp underflowed.
        let token = order[chosen]
        return (token, Float(Double(logits[token] / t - m / t) - log(z)))
    }

    /// Higher logit first; ties by index, so the order never depends on the sort algorithm.
    @inline(__always)
    private static func ranksBefore(_ logits: UnsafeBufferPointer<Float>, _ a: Int, _ b: Int) -> Bool {
        logits[a] > logits[b] || (logits[a] == logits[b] && a < b)
    }

    /// The k best candidates into `order`, best first: an insertion into a k-long sorted list,
    /// which after the first few hundred logits rarely has anything to insert.
    private mutating func selectTopK(_ logits: UnsafeBufferPointer<Float>, k: Int) {
        for i in 0..<logits.count {
            if order.count == k && !Sampler.ranksBefore(logits, i, order[k - 1]) { continue }
            var j = order.count < k ? order.count : k - 1
            if order.count < k { order.append(i) }
            while j > 0 && Sampler.ranksBefore(logits, i, order[j - 1]) {
                order[j] = order[j - 1]
                j -= 1
            }
            order[j] = i
        }
    }
}
