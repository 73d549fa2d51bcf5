import Model
import XCTest

/// Token ids, lengths and cache room from outside the process are thrown as ModelInputError
/// naming the fault, never a crash.
final class InputValidationTests: XCTestCase {
    /// Vocabulary 13, 32 positions.
    let model: Llama = {
        let m = Llama(config: LlamaGradientTests.tinyConfig())
        m.initializeRandom(seed: 1)
        return m
    }()

    func expect(_ expected: ModelInputError, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? ModelInputError, expected, "\(error)", file: file, line: line)
        }
    }

    func testGenerationPrompts() {
        let gen = Generator(model: model)
        let s = SamplingParameters(temperature: 1, seed: 1)
        expect(.tokenOutsideVocabulary(token: 700, vocabularySize: 13, position: "prompt 1, token 2")) {
            _ = try gen.rollout(prompts: [[1], [2, 3, 700]], samplesPerPrompt: 2, maxNewTokens: 4, sampling: s, stopTokens: [])
        }
        expect(.tokenOutsideVocabulary(token: -1, vocabularySize: 13, position: "prompt 0, token 0")) {
            _ = try gen.generate(prompts: [[-1]], maxNewTokens: 4)
        }
        expect(.emptySequence("prompt 1")) { _ = try gen.generate(prompts: [[1], []], maxNewTokens: 4) }
        expect(.notPositive(what: "number of prompts", value: 0)) { _ = try gen.generate(prompts: [], maxNewTokens: 4) }
        expect(.notPositive(what: "max new tokens", value: 0)) { _ = try gen.generate(prompts: [[1]], maxNewTokens: 0) }
        expect(.notPositive(what: "samples per prompt", value: 0)) {
            _ = try gen.rollout(prompts: [[1]], samplesPerPrompt: 0, maxNewTokens: 4, sampling: s, stopTokens: [])
        }
        expect(.sequenceTooLong(what: "prompt 0 (30 tokens) + 3 new tokens", length: 33, maxPositionEmbeddings: 32)) {
            _ = try gen.rollout(prompts: [[Int](repeating: 1, count: 30)], samplesPerPrompt: 1, maxNewTokens: 3, sampling: s, stopTokens: [])
        }
        // Exactly max_position_embeddings is fine.
        XCTAssertNoThrow(try gen.generate(prompts: [[Int](repeating: 1, count: 30)], maxNewTokens: 2))
        XCTAssertEqual(ModelInputError.tokenOutsideVocabulary(token: 700, vocabularySize: 640, position: "prompt 1, token 2").description,
                       "token id 700 at prompt 1, token 2 is outside the vocabulary of 640 (valid ids 0..<640)")
    }

    func testKVCacheAndInferenceSegments() throws {
        expect(.sequenceTooLong(what: "a KV cache", length: 33, maxPositionEmbeddings: 32)) { _ = try KVCache(model: model, batch: 1, capacity: 33) }
        expect(.notPositive(what: "KV cache batch", value: 0)) { _ = try KVCache(model: model, batch: 0, capacity: 8) }
        expect(.notPositive(what: "KV cache capacity", value: 0)) { _ = try KVCache(model: model, batch: 1, capacity: 0) }
        let cache = try KVCache(model: model, batch: 2, capacity: 4)
        expect(.cacheCapacityExceeded(sequence: 1, length: 5, capacity: 4)) {
            _ = try model.checkedInferenceLogits([TokenSegment(sequence: 1, tokens: [1, 2, 3, 4, 5])], cache: cache)
        }
        expect(.tokenOutsideVocabulary(token: 13, vocabularySize: 13, position: "sequence 0, token 1")) {
            _ = try model.checkedInferenceLogits([TokenSegment(sequence: 0, tokens: [1, 13])], cache: cache)
        }
        expect(.sequenceOutsideCache(sequence: 2, batch: 2)) {
            _ = try model.checkedInferenceLogits([TokenSegment(sequence: 2, tokens: [1])], cache: cache)
        }
        expect(.sequenceOutsideCache(sequence: 0, batch: 2)) {
            _ = try model.checkedInferenceLogits([TokenSegment(sequence: 0, tokens: [1]), TokenSegment(sequence: 0, tokens: [2])], cache: cache)
        }
        expect(.emptySequence("the segment of sequence 0")) {
            _ = try model.checkedInferenceLogits([TokenSegment(sequence: 0, tokens: [])], cache: cache)
        }
        // Nothing was written by the refused passes; a valid one runs, then the room is counted.
        XCTAssertEqual(cache.lengths, [0, 0])
        XCTAssertEqual(try model.checkedInferenceLogits([TokenSegment(sequence: 0, tokens: [1, 2, 3])], cache: cache).count, 13)
        expect(.cacheCapacityExceeded(sequence: 0, length: 5, capacity: 4)) {
            _ = try model.checkedInferenceLogits([TokenSegment(sequence: 0, tokens: [4, 5])], cache: cache)
        }
    }

    func testTrainingForwardIdsAndScoreLengths() throws {
        let acts = TrainingActivations(model: model, B: 2, T: 3, withLogits: false)
        expect(.tokenOutsideVocabulary(token: 99, vocabularySize: 13, position: "row 1, position 1")) {
            try model.checkedForward(ids: [1, 2, 3, 4, 99, 5], acts: acts)
        }
        expect(.countMismatch(what: "token ids for a (2, 3) batch", expected: 6, got: 5)) {
            try model.checkedForward(ids: [1, 2, 3, 4, 5], acts: acts)
        }
        XCTAssertNoThrow(try model.checkedForward(ids: [1, 2, 3, 4, 5, 6], acts: acts))
        let rm = model.makeRewardModel(padTokenID: 0, seed: 1)
        let rmActs = TrainingActivations(model: rm, B: 2, T: 3, withLogits: false)
        try rm.checkedForward(ids: [1, 2, 3, 4, 5, 6], acts: rmActs)
        expect(.lengthOutOfRange(what: "the length of row 1", length: 4, range: 1...3)) {
            _ = try rm.checkedScoreForward(lengths: [3, 4], acts: rmActs)
        }
        expect(.lengthOutOfRange(what: "the length of row 0", length: 0, range: 1...3)) {
            _ = try rm.checkedScoreForward(lengths: [0, 2], acts: rmActs)
        }
        expect(.countMismatch(what: "score lengths (one per row)", expected: 2, got: 1)) {
            _ = try rm.checkedScoreForward(lengths: [3], acts: rmActs)
        }
        XCTAssertEqual(try rm.checkedScoreForward(lengths: [3, 2], acts: rmActs).count, 2)
    }
}
