/// The order examples are trained in: each epoch a seeded shuffle of all of them, cut into
/// batches of the per-device batch size.
///
/// With example lengths given (transformers' `group_by_length`), each epoch's shuffle is cut
/// into mega-batches of `megaBatchFactor` batches and each mega-batch sorted longest first, so
/// a batch holds examples of similar length and pads little, while the order stays random at
/// the scale of mega-batches.
///
/// Its whole state is `position` (epoch, index), a small Codable value saved with each
/// checkpoint, so a resumed run continues with exactly the batch it would have trained next.
/// It hands out indices; batches are built from the examples tokenized up front, so a batch
/// costs copying B rows.
public struct DataLoader: Sendable {
    /// Where the loader is: the epoch, and the offset of the next batch within that epoch's order.
    public struct Position: Sendable, Codable, Equatable {
        public var epoch: Int
        public var index: Int
        /// - Parameters:
        ///   - epoch: 0-based epoch.
        ///   - index: offset into the epoch's order.
        public init(epoch: Int, index: Int) {
            self.epoch = epoch
            self.index = index
        }
    }

    public let exampleCount: Int
    public let batchSize: Int
    public let seed: UInt64
    /// False keeps file order every epoch (evaluation).
    public let shuffle: Bool
    /// True drops each epoch's last partial batch, so every batch has `batchSize` rows.
    public let dropLast: Bool
    /// Each example's length, when batches are grouped by length; nil for plain shuffles.
    public let lengths: [Int]?
    /// Batches per mega-batch when grouping by length: transformers' `LengthGroupedSampler` uses 50.
    public static let megaBatchFactor = 50
    /// The next batch's place.
    public private(set) var position: Position
    /// `position.epoch`'s permutation, kept so that a batch does not cost a shuffle.
    private var order: [Int]

    /// - Parameters:
    ///   - exampleCount: how many examples there are.
    ///   - batchSize: rows per batch (per device).
    ///   - seed: the shuffle seed; epoch e uses its own stream derived from it.
    ///   - shuffle: shuffle each epoch (training) or keep order (evaluation).
    ///   - dropLast: drop each epoch's last partial batch.
    ///   - lengths: one length per example to group batches by length (training only), or nil.
    ///   - position: where to start, e.g. from a checkpoint.
    /// - Throws: `DatasetError` of kind `.invalidOption` when no batch can be made.
    public init(exampleCount: Int, batchSize: Int, seed: UInt64, shuffle: Bool = true, dropLast: Bool = true,
                lengths: [Int]? = nil, position: Position = Position(epoch: 0, index: 0)) throws {
        guard batchSize >= 1 else {
            throw DatasetError(.invalidOption, field: "--per-device-batch-size", expected: "at least 1", got: "\(batchSize)")
        }
        guard exampleCount >= (dropLast ? batchSize : 1) else {
            throw DatasetError(.invalidOption, field: "--per-device-batch-size",
                               expected: "at most the number of examples (\(exampleCount))", got: "\(batchSize)",
                               hint: "Lower the batch size or add data")
        }
        guard position.epoch >= 0, position.index >= 0, position.index < exampleCount else {
            throw DatasetError(.invalidOption, field: "data loader position",
                               expected: "an epoch >= 0 and an index below \(exampleCount)", got: "\(position)")
        }
        self.exampleCount = exampleCount
        self.batchSize = batchSize
        self.seed = seed
        self.shuffle = shuffle
        self.dropLast = dropLast
        precondition(lengths == nil || lengths!.count == exampleCount, "one length per example")
        self.lengths = lengths
        self.position = position
        self.order = []
        order = permutation(epoch: position.epoch)
    }

    /// Batches in one epoch.
    public var batchesPerEpoch: Int {
        dropLast ? exampleCount / batchSize : (exampleCount + batchSize - 1) / batchSize
    }

    /// The indices of the next batch; moves to the next epoch after the last batch of one.
    public mutating func nextIndices() -> [Int] {
        let end = min(position.index + batchSize, exampleCount)
        let batch = Array(order[position.index..<end])
        position.index = end
        let rest = exampleCount - position.index
        if rest == 0 || (dropLast && rest < batchSize) {
            position = Position(epoch: position.epoch + 1, index: 0)
            order = permutation(epoch: position.epoch)
        }
        return batch
    }

    /// The next batch's examples.
    public mutating func next<Example>(from examples: [Example]) -> [Example] {
        precondition(examples.count == exampleCount, "the loader was made for \(exampleCount) examples, got \(examples.count)")
        return nextIndices().map { examples[$0] }
    }

    private func permutation(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<exampleCount) }
        let shuffled = SeededPermutation.indices(count: exampleCount, seed: seed, purpose: .epoch, index: epoch)
        guard let lengths else { return shuffled }
        var order: [Int] = []
        order.reserveCapacity(exampleCount)
        let mega = batchSize * DataLoader.megaBatchFactor
        for start in stride(from: 0, to: exampleCount, by: mega) {
            // Ties keep their shuffled order, so the result does not depend on the sort's stability.
            let chunk = shuffled[start..<min(start + mega, exampleCount)].enumerated()
            order += chunk.sorted { (lengths[$0.element], $1.offset) > (lengths[$1.element], $0.offset) }.map(\.element)
        }
        return order
    }
}
