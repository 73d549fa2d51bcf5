import Foundation
import Model
import Tensor

/// The pre-training text of InstructGPT's PPO-ptx (arXiv 2203.02155 Eq. 2): language-model
/// sequences the actor keeps training on during step 3, so that RL does not erode what it could
/// already do. Batch k of an endless stream of seeded shuffles feeds the actor's k-th ptx update,
/// so the stream depends only on the update count (and a resumed run continues it exactly).
public final class PTXData {
    public let sequences: [TokenSequence]
    public let batchSize: Int
    let seed: UInt64
    public let file: String

    /// Reads `file` as pre-training data (text records as documents, other records rendered with
    /// the model's chat template, loss on every token), with the model's tokenizer.
    /// - Throws: the reader's error naming the file, or `TrainingError(.data)` when nothing is left.
    public convenience init(file: String, modelDirectory: String, maxLength: Int, batchSize: Int, seed: UInt64) throws {
        var recipe = TrainingRecipe()
        recipe.modelNameOrPath = modelDirectory
        recipe.trainFile = [file]
        recipe.maxSeqLength = maxLength
        var data = try TrainingData(recipe: recipe, stage: .pt)
        let sequences = try data.languageModelSequences(data.records.train, stage: .pt, packing: false, what: "ptx")
        try self.init(sequences: sequences, batchSize: batchSize, seed: seed, file: file)
    }

    /// Sequences already tokenised (a test's fixture, or a caller with its own tokenizer).
    /// - Parameter file: where they came from, for messages.
    /// - Throws: `TrainingError(.data)` when there is none.
    public init(sequences: [TokenSequence], batchSize: Int, seed: UInt64, file: String) throws {
        guard !sequences.isEmpty else {
            throw TrainingError(.data, path: file, "no pre-training sequence with a target for the ptx loss")
        }
        self.sequences = sequences
        self.batchSize = max(1, batchSize)
        self.seed = seed
        self.file = file
    }

    /// Batch `k` of the stream: positions `k·batchSize ..<` of consecutive seeded shuffles.
    public func batch(_ k: Int) -> [TokenSequence] {
        let n = sequences.count
        var out: [TokenSequence] = []
        var position = k * batchSize
        var order: [Int] = [], orderEpoch = -1
        while out.count < batchSize {
            let epoch = position / n
            if epoch != orderEpoch {
                order = Array(0..<n)
                var rng = SplitMix64(seed: seed ^ 0x7074_7800 &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
                var i = n - 1
                while i > 0 {
                    order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
                    i -= 1
                }
                orderEpoch = epoch
            }
            out.append(sequences[order[position % n]])
            position += 1
        }
        return out
    }
}
