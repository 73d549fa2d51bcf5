import Roles
import Training
import XCTest

final class RoleCodecTests: XCTestCase {
    /// A batch with every field filled with distinct values.
    static func sampleBatch(B: Int = 3, P: Int = 4, R: Int = 5) -> ExperienceBatch {
        var b = ExperienceBatch(batchID: 7, iteration: 2, policyVersion: 1, B: B, promptWidth: P, responseWidth: R, groupSize: 1)
        for i in 0..<B {
            b.promptLengths[i] = Int32(1 + i % P)
            b.responseLengths[i] = Int32(i % (R + 1))
            b.ended[i] = UInt8(i % 2)
            b.scores[i] = Float(i) * 0.5 - 1
        }
        for i in 0..<(B * P) { b.prompts[i] = Int32(5 + i) }
        for i in 0..<(B * R) { b.responses[i] = Int32(9 + i) }
        for (k, path) in ExperienceBatch.perTokenFields.enumerated() {
            for i in 0..<(B * R) { b[keyPath: path][i] = Float(k) + Float(i) / 8 }
        }
        return b
    }

    func testTrainRequest_roundTripsEveryField() throws {
        let batch = Self.sampleBatch()
        guard case .trainPolicy(let back) = try RoleCodec.decodeRequest(RoleCodec.encode(.trainPolicy(batch))) else {
            return XCTFail("wrong kind")
        }
        XCTAssertEqual(back, batch)
    }

    /// A replica's part travels with the padded length of the whole batch; a length no (packed)
    /// row of the batch's widths could need is refused by name.
    func testPartOfABatch_carriesItsScoringLength() throws {
        let whole = Self.sampleBatch()
        let part = whole.part(rows: [0])
        XCTAssertEqual(part.scoringLength, whole.longestRow)
        guard case .referenceLogProbs(let back) = try RoleCodec.decodeRequest(RoleCodec.encode(.referenceLogProbs(part))) else {
            return XCTFail("wrong kind")
        }
        XCTAssertEqual(back.scoringLength, part.scoringLength)
        XCTAssertEqual(back.responses, part.responses)
        var hostile = part
        hostile.scoringLength = ExperienceBatch.packedLengthFactor * (part.promptWidth + part.responseWidth) + 1
        XCTAssertThrowsError(try RoleCodec.decodeRequest(RoleCodec.encode(.referenceLogProbs(hostile)))) {
            XCTAssertTrue("\($0)".contains("scoring_length"), "\($0)")
        }
    }

    func testScoreRequest_carriesTextsWithAnyCharacters() throws {
        var batch = Self.sampleBatch()
        batch.scores = [0, 0, 0]
        let texts = ["What is 2 plus 2?", "", "unit\u{1F}sep, 中文, \n newline"]
        guard case .score(let back, let t) = try RoleCodec.decodeRequest(RoleCodec.encode(.score(batch, texts: texts))) else {
            return XCTFail("wrong kind")
        }
        XCTAssertEqual(t, texts)
        XCTAssertEqual(back.responses, batch.responses)
        XCTAssertEqual(back.promptLengths, batch.promptLengths)
    }

    func testGenerateRequest_roundTrips() throws {
        let r = GenerateRequest(batchID: 3, iteration: 3, prompts: [[1, 2, 3], [4], []], samplesPerPrompt: 4, seed: 99, policyVersion: 2)
        guard case .generate(let back) = try RoleCodec.decodeRequest(RoleCodec.encode(.generate(r))) else { return XCTFail("wrong kind") }
        XCTAssertEqual(back, r)
    }

    func testReplies_roundTrip() throws {
        let digests = [TensorDigest(name: "a.weight", value: 0xfedc_ba98_7654_3210), TensorDigest(name: "b", value: 1)]
        guard case .trained(let m, let v, let d) = try RoleCodec.decodeReply(RoleCodec.encode(.trained(metrics: ["loss": 0.25], version: 4, digests: digests))) else {
            return XCTFail("wrong kind")
        }
        XCTAssertEqual(m, ["loss": 0.25])
        XCTAssertEqual(v, 4)
        XCTAssertEqual(d, digests)
        guard case .scores(let s) = try RoleCodec.decodeReply(RoleCodec.encode(.scores([1, -2]))) else { return XCTFail("wrong kind") }
        XCTAssertEqual(s, [1, -2])
    }

    /// Hostile payloads: every field missing in turn, counts that disagree with shapes,
    /// lengths that do not add up, shapes that would allocate wildly. Each is refused with a
    /// RoleError naming the problem, never a crash.
    func testHostilePayloads_areRefusedWithTheFieldNamed() throws {
        let good = RoleCodec.encode(.trainPolicy(Self.sampleBatch()))
        for name in good.arrays.keys.sorted() {
            var p = good
            p.arrays[name] = nil
            XCTAssertThrowsError(try RoleCodec.decodeRequest(p), "without \(name)") { error in
                XCTAssertTrue("\(error)".contains(name), "\(error)")
            }
        }
        for name in good.integers.keys.sorted() {
            var p = good
            p.integers[name] = nil
            XCTAssertThrowsError(try RoleCodec.decodeRequest(p), "without \(name)")
        }
        var wrongCount = good
        wrongCount.arrays["logprobs"] = .f32([1, 2, 3], shape: [3])
        XCTAssertThrowsError(try RoleCodec.decodeRequest(wrongCount)) { XCTAssertTrue("\($0)".contains("logprobs")) }
        var huge = good
        huge.integers["rows"] = 1 << 40
        XCTAssertThrowsError(try RoleCodec.decodeRequest(huge)) { XCTAssertTrue("\($0)".contains("out of bounds")) }
        var negative = good
        negative.integers["response_width"] = -1
        XCTAssertThrowsError(try RoleCodec.decodeRequest(negative))
        var ragged = RoleCodec.encode(.generate(GenerateRequest(batchID: 1, iteration: 0, prompts: [[1, 2]], samplesPerPrompt: 1, seed: 0, policyVersion: 0)))
        ragged.arrays["prompts_lengths"] = .i32([5], shape: [1])
        XCTAssertThrowsError(try RoleCodec.decodeRequest(ragged)) { XCTAssertTrue("\($0)".contains("add up")) }
        ragged.arrays["prompts_lengths"] = .i32([-1], shape: [1])
        XCTAssertThrowsError(try RoleCodec.decodeRequest(ragged))
        XCTAssertThrowsError(try RoleCodec.decodeRequest(RolePayload(kind: "format_disk"))) { XCTAssertTrue("\($0)".contains("unknown")) }
    }

    /// A decoded batch whose fields agree with their shapes can still carry ids outside the
    /// vocabulary or lengths past their widths: `validate` refuses those before a model sees them.
    func testValidate_refusesIdsAndLengthsFromOutside() throws {
        var b = Self.sampleBatch()
        XCTAssertNoThrow(try b.validate(vocabSize: 1000))
        XCTAssertThrowsError(try b.validate(vocabSize: 10)) { XCTAssertTrue("\($0)".contains("outside the vocabulary")) }
        b.responseLengths[0] = 99
        XCTAssertThrowsError(try b.validate(vocabSize: 1000)) { XCTAssertTrue("\($0)".contains("response length")) }
        b = Self.sampleBatch()
        b.promptLengths[1] = 0
        XCTAssertThrowsError(try b.validate(vocabSize: 1000)) { XCTAssertTrue("\($0)".contains("prompt length")) }
        b = Self.sampleBatch()
        b.groupSize = 2  // 3 rows: the group baselines would stop the process on a precondition
        XCTAssertThrowsError(try b.validate(vocabSize: 1000)) { XCTAssertTrue("\($0)".contains("whole groups")) }
    }
}
