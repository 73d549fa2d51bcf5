import Foundation

/// DeepSpeed-Chat's `data_split`: one dataset divided between the three steps, so that the
/// reward model and PPO see the same distribution as SFT without reusing its records.
///
/// `"6,2,2"` gives step 1 (SFT) 60% of the records, step 2 (reward model; also DPO) 20% and
/// step 3 (PPO prompts) 20%. As in DeepSpeed-Chat, the record indices are shuffled with the
/// seed and cut into contiguous chunks in proportion to the weights; a step's records are then
/// returned in file order. Chunk boundaries are the rounded cumulative proportions, so the chunks
/// always cover every record exactly once (DeepSpeed-Chat rounds each chunk and then corrects
/// the total). The shuffle is SplitMix64's, so the split is reproducible here but not equal to
/// DeepSpeed-Chat's numpy one.
public struct DataSplit: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The three steps of the InstructGPT pipeline.
    public enum Step: Int, Sendable, Codable, CaseIterable {
        case sft = 1, reward = 2, rl = 3
    }

    /// The three non-negative weights, for steps 1, 2 and 3.
    public let weights: [Int]

    /// - Parameter weights: three non-negative integers with a positive sum.
    /// - Throws: `DatasetError` of kind `.invalidOption` otherwise.
    public init(weights: [Int]) throws {
        guard weights.count == 3, weights.allSatisfy({ $0 >= 0 }), weights.reduce(0, +) > 0 else {
            throw DataSplit.invalid(weights.map(String.init).joined(separator: ","))
        }
        self.weights = weights
    }

    /// Parses `"6,2,2"` (spaces allowed).
    ///
    /// - Throws: `DatasetError` of kind `.invalidOption` unless the text is three non-negative
    ///   integers with a positive sum.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { throw DataSplit.invalid(text) }
        do { try self.init(weights: parts.map { $0! }) } catch { throw DataSplit.invalid(text) }
    }

    private static func invalid(_ text: String) -> DatasetError {
        DatasetError(.invalidOption, field: "data_split",
                     expected: "three non-negative integers with a positive sum, like 6,2,2", got: "'\(text)'")
    }

    public var description: String { weights.map(String.init).joined(separator: ",") }

    /// The chunk of the shuffled order each step gets, for `count` records.
    public func ranges(count: Int) -> [Range<Int>] {
        let total = Double(weights.reduce(0, +))
        var bounds = [0]
        var cumulative = 0
        for w in weights {
            cumulative += w
            bounds.append(Int((Double(cumulative) / total * Double(count)).rounded()))
        }
        return (0..<3).map { bounds[$0]..<bounds[$0 + 1] }
    }

    /// The indices (ascending) of the records that `step` gets out of `count`.
    ///
    /// - Parameters:
    ///   - step: the pipeline step.
    ///   - count: how many records the dataset has.
    ///   - seed: the shuffle seed; the same seed gives every step the same, disjoint, share.
    public func indices(for step: Step, count: Int, seed: UInt64) -> [Int] {
        let order = SeededPermutation.indices(count: count, seed: seed, purpose: .dataSplit)
        return order[ranges(count: count)[step.rawValue - 1]].sorted()
    }

    /// The elements of `items` that `step` gets.
    public func select<T>(_ items: [T], for step: Step, seed: UInt64) -> [T] {
        indices(for: step, count: items.count, seed: seed).map { items[$0] }
    }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
