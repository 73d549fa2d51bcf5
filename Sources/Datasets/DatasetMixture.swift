/// Several datasets mixed in given proportions, reproducibly.
///
/// Mixing is a proportional take, not sampling with replacement: the mixture's `total` records
/// are divided between the sources by weight (largest-remainder rounding, so the counts add up
/// exactly); a source asked for no more records than it has gives a seeded random subset without
/// repeats; a source asked for more is repeated whole as often as needed plus a seeded random
/// remainder. The result is then shuffled with the seed so that sources interleave. A record is
/// therefore repeated only when its source's weight demands it, and the same seed always gives
/// the same mixture.
public enum DatasetMixture {
    /// Mixes `sources` by `weights`.
    ///
    /// - Parameters:
    ///   - sources: the datasets.
    ///   - weights: one non-negative weight per source, not all zero; only their ratios matter.
    ///   - total: how many records the mixture has; by default as many as all sources together.
    ///   - seed: the seed for the subsets and the final order.
    /// - Returns: `total` records.
    /// - Throws: `DatasetError` of kind `.invalidOption` for bad weights, or an empty source with
    ///   a positive weight.
    public static func mix<T>(_ sources: [[T]], weights: [Double], total: Int? = nil, seed: UInt64) throws -> [T] {
        guard weights.count == sources.count, !weights.isEmpty,
              weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.reduce(0, +) > 0 else {
            throw DatasetError(.invalidOption, field: "dataset weights",
                               expected: "one non-negative weight per dataset, not all zero",
                               got: weights.map { "\($0)" }.joined(separator: ", "))
        }
        let total = total ?? sources.reduce(0) { $0 + $1.count }
        let quotas = counts(weights: weights, total: total)
        var mixed: [T] = []
        mixed.reserveCapacity(total)
        for (i, source) in sources.enumerated() where quotas[i] > 0 {
            guard !source.isEmpty else {
                throw DatasetError(.invalidOption, field: "dataset weights",
                                   expected: "records in every dataset with a positive weight", got: "dataset \(i + 1) is empty")
            }
            var remaining = quotas[i]
            var pass = 0
            while remaining > 0 {
                let order = SeededPermutation.indices(count: source.count, seed: seed, purpose: .mixture, index: i &* 1_000_003 &+ pass)
                for j in order.prefix(remaining) { mixed.append(source[j]) }
                remaining -= min(remaining, source.count)
                pass += 1
            }
        }
        return SeededPermutation.indices(count: mixed.count, seed: seed, purpose: .mixtureOrder).map { mixed[$0] }
    }

    /// `total` divided in proportion to `weights`, rounded by largest remainder.
    static func counts(weights: [Double], total: Int) -> [Int] {
        let sum = weights.reduce(0, +)
        let exact = weights.map { $0 / sum * Double(total) }
        var counts = exact.map { Int($0.rounded(.down)) }
        // Ties go to the earlier source, so the counts never depend on the sort's stability.
        let remainder = exact.indices.map { exact[$0] - Double(counts[$0]) }
        let byRemainder = exact.indices.sorted { remainder[$0] != remainder[$1] ? remainder[$0] > remainder[$1] : $0 < $1 }
        for i in byRemainder.prefix(total - counts.reduce(0, +)) { counts[i] += 1 }
        return counts
    }
}
