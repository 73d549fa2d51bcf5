import Model
import TestSupport
import Training
import XCTest

/// Answers to one prompt run packed in one row (`share_prompts`): the figures are the plain
/// rows' up to float rounding, the gradient too, and parts and mini-batches keep the packing.
final class PromptSharingTests: XCTestCase {
    /// Three groups of four answers (lengths 0 to 9) to prompts of 1, 6 and 11 tokens.
    static func batch() -> ExperienceBatch {
        var prompts: [[Int32]] = [], responses: [[Int32]] = []
        for g in 0..<3 {
            let prompt = (0..<(1 + 5 * g)).map { Int32(4 + (g * 31 + $0 * 7) % 600) }
            for a in 0..<4 {
                prompts.append(prompt)
                responses.append((0..<((g * 4 + a * 3) % 10)).map { Int32(4 + (g * 13 + a * 17 + $0 * 5) % 600) })
            }
        }
        return ExperienceBatch(prompts: prompts, responses: responses, padID: 3, groupSize: 4)
    }

    func testLayout_putsThePromptOnceAndEachAnswerAfterIt() throws {
        let prompt: [Int32] = [10, 11, 12, 13, 14, 15]
        var b = ExperienceBatch(prompts: [prompt, prompt], responses: [[20, 21], [30]], padID: 3, groupSize: 2)
        let layout = try b.responseLayout(padID: 3, maxLength: 32, sharePrompts: true)
        XCTAssertEqual(layout.batch.B, 1)
        XCTAssertEqual(layout.batch.T, 10)
        XCTAssertEqual(layout.batch.ids, [10, 11, 12, 13, 14, 15, 20, 21, 15, 30])
        XCTAssertEqual(layout.batch.targets, [-1, -1, -1, -1, -1, 20, 21, -1, 30, -1])
        XCTAssertEqual(layout.batch.packing?.positions, [0, 1, 2, 3, 4, 5, 6, 7, 5, 6])
        XCTAssertEqual(layout.batch.packing?.gaps, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5, 5, 8, 5, 8],
                       "the second answer hides the first")
        XCTAssertEqual(layout.responseIndex, [5, 6, 8, -1])
        XCTAssertEqual(layout.lastTokenIndex, [7, 9])

        b.groupSize = 1
        let plain = try b.responseLayout(padID: 3, maxLength: 32, sharePrompts: true)
        XCTAssertEqual(plain.batch.B, 2, "rows of different groups never pack")
        XCTAssertNil(plain.batch.packing)
        XCTAssertEqual(plain.batch.ids, try b.modelBatch(padID: 3, maxLength: 32).ids)
    }

    /// A packed row's attention never costs more than its rows' alone: Σ T² does not grow.
    func testLongAnswers_splitAGroupOverRows() throws {
        let prompt = (0..<20).map { Int32(4 + $0) }
        let answers = [3, 4, 12, 30, 2, 5, 1, 0].map { n in (0..<n).map { Int32(40 + $0) } }
        let b = ExperienceBatch(prompts: Array(repeating: prompt, count: 8), responses: answers, padID: 3, groupSize: 8)
        let layout = try b.responseLayout(padID: 3, maxLength: 128, sharePrompts: true)
        XCTAssertGreaterThan(layout.batch.B, 1, "the 30-token answer does not pack with the rest")
        XCTAssertLessThan(layout.batch.B, 8, "short answers pack")
        XCTAssertNotNil(layout.batch.packing)
        let plainSquares = answers.reduce(0) { $0 + (20 + $1.count) * (20 + $1.count) }
        XCTAssertLessThanOrEqual(layout.batch.lengths.reduce(0) { $0 + $1 * $1 }, plainSquares)
        XCTAssertEqual(layout.batch.lengths.reduce(0, +), layout.batch.B * 19 + answers.reduce(0) { $0 + $1.count + 1 })

        let equal = ExperienceBatch(prompts: Array(repeating: Array(prompt[0..<6]), count: 4),
                                    responses: Array(repeating: (0..<6).map { Int32(40 + $0) }, count: 4), padID: 3, groupSize: 4)
        XCTAssertNil(try equal.responseLayout(padID: 3, maxLength: 128, sharePrompts: true).batch.packing,
                     "answers as long as their prompt save nothing and do not pack")
    }

    /// Packed and plain log-probabilities, and the gradient of a weighted sum of them.
    func testPackedRows_giveThePlainRowsFiguresAndGradient() throws {
        let model = Llama(config: Fixture.tinyConfig())
        model.initializeRandom(seed: 5)
        let pool = ActivationPool(model: model)
        let batch = Self.batch()
        let packed = try batch.logProbs(under: model, pool: pool, padID: 3, temperature: 0.7, sharePrompts: true)
        let plain = try batch.logProbs(under: model, pool: pool, padID: 3, temperature: 0.7, sharePrompts: false)
        let c = Closeness(packed, plain, atol: 2e-5)
        XCTAssertTrue(c.passed, "packed vs plain log-probabilities: \(c)")
        XCTAssertNotNil(try batch.responseLayout(padID: 3, maxLength: 128, sharePrompts: true).batch.packing)

        let weights = batch.mask.enumerated().map { Float(($0.offset % 5) - 2) * 0.5 * $0.element }
        func gradient(sharePrompts: Bool) throws -> [Float] {
            let layout = try batch.responseLayout(padID: 3, maxLength: 128, sharePrompts: sharePrompts)
            let mb = layout.batch
            let acts = TrainingActivations(model: model, B: mb.B, T: mb.T, withLogits: false)
            let g = model.enableGradients()
            g.zero()
            TemperedLanguageModel.forward(model, mb, acts, temperature: 0.7)
            var d = [Float](repeating: 0, count: mb.B * mb.T)
            d.withUnsafeMutableBufferPointer { layout.scatter(weights, into: $0.baseAddress!) }
            TemperedLanguageModel.backward(model, dlogprobs: d, mb, acts, temperature: 0.7)
            return g.array
        }
        let a = try gradient(sharePrompts: true), b = try gradient(sharePrompts: false)
        let scale = b.reduce(0) { max($0, abs($1)) }
        XCTAssertGreaterThan(scale, 1e-3)
        let g = Closeness(a, b, atol: 1e-5 * Double(scale) + 1e-6, rtol: 1e-3)
        XCTAssertTrue(g.passed, "packed vs plain gradient: \(g)")
    }

    /// A reward model's score, read at each answer's last token of the packed rows, is its score
    /// on the plain rows.
    func testPackedScores_areThePlainRowsScores() throws {
        let base = Llama(config: Fixture.tinyConfig())
        base.initializeRandom(seed: 9)
        let model = base.makeRewardModel(padTokenID: 3, seed: 2, std: 0.2)
        let batch = Self.batch()
        func scores(sharePrompts: Bool) throws -> [Float] {
            let layout = try batch.responseLayout(padID: 3, maxLength: 128, sharePrompts: sharePrompts)
            let mb = layout.batch
            let acts = TrainingActivations(model: model, B: mb.B, T: mb.T, withLogits: false, forScoring: true)
            model.forward(ids: mb.ids, acts: acts, packing: mb.packing)
            return model.score(atPositions: layout.lastTokenIndex.map(Int.init), acts: acts)
        }
        let plainBatch = try batch.modelBatch(padID: 3, maxLength: 128)
        let acts = TrainingActivations(model: model, B: plainBatch.B, T: plainBatch.T, withLogits: false, forScoring: true)
        model.forward(ids: plainBatch.ids, acts: acts)
        let reference = model.scoreForward(lengths: plainBatch.lengths, acts: acts)
        XCTAssertEqual(try scores(sharePrompts: false).map(\.bitPattern), reference.map(\.bitPattern), "plain layout: the same bits")
        let c = Closeness(try scores(sharePrompts: true), reference, atol: 1e-4)
        XCTAssertTrue(c.passed, "packed vs plain scores: \(c)")
        XCTAssertGreaterThan(reference.map(abs).max()!, 1e-3, "scores that say something")
    }

    /// The packed gradient against central differences of the packed forward.
    func testPackedGradient_matchesFiniteDifferences() throws {
        let model = Llama(config: PolicyTrainerTests.config())
        model.initializeRandom(seed: 8, std: 0.4)
        let ungrouped = try ExperienceBatch(prompts: [[1, 5, 6], [1, 5, 6]], responses: [[8, 9], [10]], padID: 0, groupSize: 1)
            .responseLayout(padID: 0, maxLength: 32, sharePrompts: true)
        XCTAssertNil(ungrouped.batch.packing, "group size 1 packs nothing")
        let shared = try ExperienceBatch(prompts: [[1, 5, 6], [1, 5, 6], [1, 5, 6], [1, 5, 6]], responses: [[8, 9], [10, 2, 11], [], [12]],
                                         padID: 0, groupSize: 4).responseLayout(padID: 0, maxLength: 32, sharePrompts: true)
        XCTAssertNotNil(shared.batch.packing)
        let mb = shared.batch
        let weights = (0..<shared.responseIndex.count).map { Float(($0 % 7) - 3) * 0.3 * (shared.responseIndex[$0] >= 0 ? 1 : 0) }
        let acts = TrainingActivations(model: model, B: mb.B, T: mb.T, withLogits: false)
        func loss() -> Double {
            TemperedLanguageModel.forward(model, mb, acts, temperature: 1)
            return zip(shared.gather(acts.logprobs.pointer), weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let gradients = model.enableGradients()
        gradients.zero()
        _ = loss()
        var d = [Float](repeating: 0, count: mb.B * mb.T)
        d.withUnsafeMutableBufferPointer { shared.scatter(weights, into: $0.baseAddress!) }
        TemperedLanguageModel.backward(model, dlogprobs: d, mb, acts, temperature: 1)
        let check = BlockGradientCheck.compare(entries: model.layout.entries, values: model.parameters.pointer,
                                               analytic: gradients.array, loss: loss)
        XCTAssertTrue(check.passed, "\(check)")
    }

    /// Shuffled mini-batches hold a few answers of many groups, in ascending row order, so a
    /// group's answers are adjacent and pack across group boundaries; a whole group selected
    /// keeps its group size.
    func testShuffledMiniBatches_packTheAnswersOfOnePrompt() throws {
        var b = Self.batch()
        b.batchID = 9
        let minis = b.miniBatches(size: 6, epochs: 2, shuffle: true)
        XCTAssertEqual(minis.count, 4)
        for rows in minis { XCTAssertEqual(rows, rows.sorted()) }
        XCTAssertEqual((minis[0] + minis[1]).sorted(), Array(0..<12), "each pass holds every row once")
        XCTAssertNotEqual(minis[0], Array(0..<6), "the rows are shuffled")
        let mini = b.selecting(rows: minis[0])
        XCTAssertEqual(mini.groupSize, 1)
        let layout = try mini.responseLayout(padID: 3, maxLength: 128, sharePrompts: true, acrossGroups: true)
        let groups = Set(minis[0].map { $0 / 4 })
        XCTAssertLessThan(layout.batch.B, minis[0].count, "answers to one prompt pack: \(minis[0])")
        XCTAssertGreaterThanOrEqual(layout.batch.B, groups.count)
        XCTAssertNotNil(layout.batch.packing)
        XCTAssertNil(try mini.responseLayout(padID: 3, maxLength: 128, sharePrompts: true).batch.packing,
                     "without acrossGroups, rows of group size 1 run alone")

        let model = Llama(config: Fixture.tinyConfig())
        model.initializeRandom(seed: 4)
        let pool = ActivationPool(model: model)
        let alone = try mini.logProbs(under: model, pool: pool, padID: 3, sharePrompts: false)
        let mb = layout.batch
        let acts = TrainingActivations(model: model, B: mb.B, T: mb.T, withLogits: false)
        TemperedLanguageModel.forward(model, mb, acts, temperature: 1)
        let c = Closeness(layout.gather(acts.logprobs.pointer), alone, atol: 2e-5)
        XCTAssertTrue(c.passed, "a mini-batch packed across groups vs its rows alone: \(c)")

        XCTAssertEqual(b.selecting(rows: [4, 5, 6, 7]).groupSize, 4, "a whole group keeps its group size")
        XCTAssertEqual(b.selecting(rows: [0, 1, 2, 4]).groupSize, 1, "rows of two groups are no group")
        XCTAssertEqual(b.selecting(rows: [1, 2, 3, 4]).groupSize, 1, "rows across a group boundary are no group")
    }

    /// A part that packs nothing, of a batch whose packed rows run past the model's positions,
    /// is padded to the whole batch's length with its padding at valid positions, and gives the
    /// whole batch's bits.
    func testPartPaddedPastTheModelsPositions_givesTheWholeBatchsBits() throws {
        let model = Llama(config: Fixture.tinyConfig())
        model.initializeRandom(seed: 11)
        let pool = ActivationPool(model: model)
        let long = (0..<100).map { Int32(4 + $0 * 3 % 600) }, short = (0..<10).map { Int32(50 + $0) }
        let whole = ExperienceBatch(prompts: Array(repeating: long, count: 8) + Array(repeating: short, count: 8),
                                    responses: (0..<8).map { a in (0..<5).map { Int32(200 + a + $0) } }
                                        + (0..<8).map { a in (0..<20).map { Int32(300 + a + $0) } },
                                    padID: 3, groupSize: 8)
        let T = try whole.responseLayout(padID: 3, maxLength: 128, sharePrompts: true).batch.T
        XCTAssertGreaterThan(T, 128, "the long prompt's packed row is longer than the model's positions")
        let part = whole.part(rows: Array(8..<16), sharePrompts: true)
        let layout = try part.responseLayout(padID: 3, maxLength: 128, sharePrompts: true)
        XCTAssertEqual(layout.batch.B, 8, "answers as long as their prompt do not pack")
        XCTAssertEqual(layout.batch.T, T)
        XCTAssertNotNil(layout.batch.packing, "explicit positions for padding past the model's")
        let expected = try whole.logProbs(under: model, pool: pool, padID: 3)
        let got = try part.logProbs(under: model, pool: pool, padID: 3)
        XCTAssertEqual(got.map(\.bitPattern), Array(expected[(8 * whole.responseWidth)...]).map(\.bitPattern))
    }

    /// A replica's part (whole groups) packs as the whole batch does and gives its bits.
    func testPartsAtGroupBoundaries_giveTheWholeBatchsBits() throws {
        let model = Llama(config: Fixture.tinyConfig())
        model.initializeRandom(seed: 6)
        let pool = ActivationPool(model: model)
        let whole = Self.batch()
        let T = try whole.responseLayout(padID: 3, maxLength: 128, sharePrompts: true).batch.T
        let first = whole.part(rows: Array(0..<4), sharePrompts: true), second = whole.part(rows: Array(4..<12), sharePrompts: true)
        XCTAssertEqual(first.scoringLength, T)
        XCTAssertLessThan(try first.selecting(rows: Array(0..<4)).responseLayout(padID: 3, maxLength: 128, sharePrompts: true).batch.T, T,
                          "the test needs a part whose own packed rows are shorter than the whole's")
        let expected = try whole.logProbs(under: model, pool: pool, padID: 3)
        let parts = try first.logProbs(under: model, pool: pool, padID: 3) + second.logProbs(under: model, pool: pool, padID: 3)
        XCTAssertEqual(parts.map { $0.bitPattern }, expected.map { $0.bitPattern })
    }
}
