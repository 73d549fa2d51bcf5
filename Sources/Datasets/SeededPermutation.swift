import Tensor

/// Reproducible permutations: the same seed gives the same order on every machine and Swift
/// version, because the draws are SplitMix64's and the shuffle is written out here (the standard
/// library's `shuffle(using:)` does not promise a fixed algorithm).
enum SeededPermutation {
    /// What a shuffle is for, so that the data split, the eval hold-out, mixing and each epoch
    /// draw from unrelated streams even when they share the run's seed.
    enum Purpose: UInt64 {
        case dataSplit = 1, evalHoldout, mixture, mixtureOrder, epoch
    }

    static func generator(seed: UInt64, purpose: Purpose, index: Int = 0) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (purpose.rawValue &* 0xD1B5_4A32_D192_ED03))
        let base = mixer.next()
        return SplitMix64(seed: base &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// A permutation of `0..<count` (Fisher-Yates).
    static func indices(count: Int, seed: UInt64, purpose: Purpose, index: Int = 0) -> [Int] {
        var rng = generator(seed: seed, purpose: purpose, index: index)
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = below(i + 1, using: &rng)
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    /// Uniform in `0..<n` by the multiply-high method (bias below 2^-40 for any data set size).
    @inline(__always)
    static func below(_ n: Int, using rng: inout SplitMix64) -> Int {
        Int(truncatingIfNeeded: rng.next().multipliedFullWidth(by: UInt64(n)).high)
    }
}
