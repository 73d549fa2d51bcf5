import Model
import Training
import XCTest

/// A replica scoring part of a batch gives the bits the whole batch gives those rows.
final class BatchPartTests: XCTestCase {
    /// Eight rows of lengths 5 to 19; the first four are shorter than the last four.
    static func batch() -> ExperienceBatch {
        var b = ExperienceBatch(batchID: 0, iteration: 0, policyVersion: 0, B: 8, promptWidth: 9, responseWidth: 10, groupSize: 1)
        for r in 0..<8 {
            let p = 3 + r % 3 + (r >= 4 ? 3 : 0), n = 2 + r + (r >= 4 ? 3 : 0)
            b.promptLengths[r] = Int32(p)
            b.responseLengths[r] = Int32(min(n, 10))
            for t in 0..<p { b.prompts[r * 9 + t] = Int32(4 + (r * 7 + t * 3) % 600) }
            for j in 0..<min(n, 10) { b.responses[r * 10 + j] = Int32(4 + (r * 11 + j * 5) % 600) }
        }
        return b
    }

    func testPartsOfABatch_arePaddedAndScoredAsTheWhole() throws {
        let model = Llama(config: Fixture.tinyConfig())
        model.initializeRandom(seed: 3)
        let pool = ActivationPool(model: model)
        let whole = Self.batch()
        let T = try whole.modelBatch(padID: 3, maxLength: 128).T
        XCTAssertEqual(T, whole.longestRow, "a batch of its own is padded to its longest row")

        let first = whole.part(rows: [0, 1, 2, 3]), second = whole.part(rows: [4, 5, 6, 7])
        XCTAssertLessThan(first.longestRow, T, "the test needs a part shorter than the whole")
        XCTAssertEqual(try first.modelBatch(padID: 3, maxLength: 128).T, T)
        XCTAssertEqual(try second.modelBatch(padID: 3, maxLength: 128).T, T)
        XCTAssertEqual(try whole.selecting(rows: [0, 1, 2, 3]).modelBatch(padID: 3, maxLength: 128).T, first.longestRow,
                       "a mini-batch (rows selected for a batch of their own) is padded to its own longest row")

        let expected = try whole.logProbs(under: model, pool: pool, padID: 3)
        let parts = try first.logProbs(under: model, pool: pool, padID: 3) + second.logProbs(under: model, pool: pool, padID: 3)
        XCTAssertEqual(parts.map { $0.bitPattern }, expected.map { $0.bitPattern })
    }
}
