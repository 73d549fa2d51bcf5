import Datasets
import Foundation
import Tensor
import Tokenization
import XCTest

/// Padded batches and a data loader that resumes where it stopped.
final class BatchAndLoaderTests: XCTestCase {
    private let here = SourceLocation(file: "mem.jsonl", line: 1, record: 1)

    func testBatch_rightPaddedWithMasksAndLengths() {
        let examples = [SFTExample(ids: [1, 5, 6, 2], lossMask: [false, false, true, true], source: here),
                        SFTExample(ids: [1, 7], lossMask: [false, true], source: here)]
        let batch = Batch(sft: examples, padID: 0)
        XCTAssertEqual(batch.batchSize, 2)
        XCTAssertEqual(batch.sequenceLength, 4)
        XCTAssertEqual(batch.tokens, [1, 5, 6, 2, 1, 7, 0, 0])
        XCTAssertEqual(batch.lossMask, [0, 0, 1, 1, 0, 1, 0, 0])
        XCTAssertEqual(batch.lengths, [4, 2])
        XCTAssertEqual(Array(batch.row(1)), [1, 7])
    }

    func testBatch_preferenceRowsAreChosenThenRejectedWithLossOnAnswers() {
        let pairs = [PreferenceExample(promptIDs: [1, 9], chosenIDs: [3, 2], rejectedIDs: [4, 4, 2], source: here),
                     PreferenceExample(promptIDs: [1], chosenIDs: [5, 2], rejectedIDs: [6, 2], source: here)]
        let batch = Batch(preferences: pairs, padID: 0)
        XCTAssertEqual(batch.batchSize, 4)
        XCTAssertEqual(batch.sequenceLength, 5)
        XCTAssertEqual(batch.lengths, [4, 3, 5, 3])
        XCTAssertEqual(Array(batch.row(2)), [1, 9, 4, 4, 2])
        XCTAssertEqual(Array(batch.lossMask[0..<5]), [0, 0, 1, 1, 0])
        XCTAssertEqual(Array(batch.lossMask[10..<15]), [0, 0, 1, 1, 1])
    }

    func testPaddingID_fallsBackToEOS() {
        XCTAssertEqual(TinyTokenizer.shared.paddingID, 3)
        XCTAssertEqual(CharacterTokenizer().paddingID, 0)
    }

    func testLoader_everyEpochAPermutationDifferentEachEpoch() throws {
        var loader = try DataLoader(exampleCount: 10, batchSize: 4, seed: 1, dropLast: false)
        XCTAssertEqual(loader.batchesPerEpoch, 3)
        let epoch0 = (0..<3).map { _ in loader.nextIndices() }
        XCTAssertEqual(epoch0.map(\.count), [4, 4, 2])
        XCTAssertEqual(epoch0.joined().sorted(), Array(0..<10))
        XCTAssertEqual(loader.position, DataLoader.Position(epoch: 1, index: 0))
        let epoch1 = (0..<3).map { _ in loader.nextIndices() }
        XCTAssertEqual(epoch1.joined().sorted(), Array(0..<10))
        XCTAssertNotEqual(Array(epoch0.joined()), Array(epoch1.joined()))
    }

    func testLoader_dropLastGivesFullBatchesOnly() throws {
        var loader = try DataLoader(exampleCount: 10, batchSize: 3, seed: 2)
        XCTAssertEqual(loader.batchesPerEpoch, 3)
        let batches = (0..<6).map { _ in loader.nextIndices() }
        XCTAssertTrue(batches.allSatisfy { $0.count == 3 })
        XCTAssertEqual(loader.position.epoch, 2)
        XCTAssertEqual(Set(batches[0..<3].joined()).count, 9)
    }

    func testLoader_resumesAtTheSameBatchFromASavedPosition() throws {
        var loader = try DataLoader(exampleCount: 25, batchSize: 4, seed: 77)
        for _ in 0..<8 { _ = loader.nextIndices() }  // into the second epoch
        let saved = try JSONEncoder().encode(loader.position)
        let expected = (0..<10).map { _ in loader.nextIndices() }
        let position = try JSONDecoder().decode(DataLoader.Position.self, from: saved)
        var resumed = try DataLoader(exampleCount: 25, batchSize: 4, seed: 77, position: position)
        XCTAssertEqual((0..<10).map { _ in resumed.nextIndices() }, expected)
    }

    func testLoader_unshuffledKeepsOrderAndRefusesImpossibleBatches() throws {
        var loader = try DataLoader(exampleCount: 5, batchSize: 2, seed: 0, shuffle: false, dropLast: false)
        XCTAssertEqual(loader.next(from: ["a", "b", "c", "d", "e"]), ["a", "b"])
        XCTAssertThrowsError(try DataLoader(exampleCount: 3, batchSize: 4, seed: 0)) { error in
            XCTAssertEqual((error as? DatasetError)?.kind, .invalidOption)
        }
        XCTAssertThrowsError(try DataLoader(exampleCount: 3, batchSize: 1, seed: 0, position: .init(epoch: 0, index: 3)))
    }

    /// Padding a batch costs: the longest length in it times its rows, minus the real tokens.
    private func padding(_ batches: [[Int]], _ lengths: [Int]) -> Int {
        batches.reduce(0) { total, b in total + b.count * b.map { lengths[$0] }.max()! - b.reduce(0) { $0 + lengths[$1] } }
    }

    func testLoader_groupByLengthKeepsEveryExamplePadsLessAndResumes() throws {
        var rng = SplitMix64(seed: 5)
        let lengths = (0..<1000).map { _ in 10 + Int(rng.next() % 200) }
        var plain = try DataLoader(exampleCount: 1000, batchSize: 4, seed: 9)
        var grouped = try DataLoader(exampleCount: 1000, batchSize: 4, seed: 9, lengths: lengths)
        let plainEpoch = (0..<250).map { _ in plain.nextIndices() }
        let groupedEpoch = (0..<250).map { _ in grouped.nextIndices() }
        XCTAssertEqual(groupedEpoch.joined().sorted(), Array(0..<1000), "an epoch still holds every example once")
        // Within each mega-batch (50 batches) the lengths never increase.
        for mega in stride(from: 0, to: 250, by: DataLoader.megaBatchFactor) {
            let run = groupedEpoch[mega..<mega + DataLoader.megaBatchFactor].joined().map { lengths[$0] }
            XCTAssertEqual(run, run.sorted(by: >))
        }
        XCTAssertLessThan(padding(groupedEpoch, lengths) * 10, padding(plainEpoch, lengths), "at least 10x less padding")
        // Mega-batches follow the seeded shuffle: another seed, another order.
        var other = try DataLoader(exampleCount: 1000, batchSize: 4, seed: 10, lengths: lengths)
        XCTAssertNotEqual(other.nextIndices(), groupedEpoch[0])
        // Resume mid-epoch.
        for _ in 0..<37 { _ = grouped.nextIndices() }
        let position = grouped.position
        let expected = (0..<20).map { _ in grouped.nextIndices() }
        var resumed = try DataLoader(exampleCount: 1000, batchSize: 4, seed: 9, lengths: lengths, position: position)
        XCTAssertEqual((0..<20).map { _ in resumed.nextIndices() }, expected)
    }
}
