import Roles
import Training
import XCTest

/// The experience batch's (B, R) response layout against the model's (B, T) layout.
final class ExperienceLayoutTests: XCTestCase {
    func testModelBatch_targetsAreTheResponseTokensOnly() throws {
        var b = ExperienceBatch(batchID: 0, iteration: 0, policyVersion: 0, B: 2, promptWidth: 3, responseWidth: 2, groupSize: 1)
        b.promptLengths = [3, 1]
        b.prompts = [10, 11, 12, 20, 0, 0]
        b.responseLengths = [2, 1]
        b.responses = [13, 14, 21, 0]
        let layout = try b.responseLayout(padID: 3, maxLength: 64, sharePrompts: false)
        let mb = layout.batch
        XCTAssertEqual(mb.ids, try b.modelBatch(padID: 3, maxLength: 64).ids)
        XCTAssertEqual(mb.T, 5, "padded to the longest row, no further")
        XCTAssertEqual(Array(mb.ids[0..<5]), [10, 11, 12, 13, 14])
        XCTAssertEqual(Array(mb.ids[5..<10]), [20, 21, 3, 3, 3])
        var expected = [Int32](repeating: -1, count: 10)
        expected[2] = 13; expected[3] = 14; expected[5] = 21
        XCTAssertEqual(mb.targets, expected)
        XCTAssertEqual(mb.lengths, [5, 2])

        var perPosition = (0..<10).map { Float($0) }
        let gathered = perPosition.withUnsafeBufferPointer { layout.gather($0.baseAddress!) }
        XCTAssertEqual(gathered, [2, 3, 5, 0])
        perPosition.withUnsafeMutableBufferPointer { layout.scatter([1, 2, 3, 4], into: $0.baseAddress!) }
        var back = [Float](repeating: 0, count: 10)
        back[2] = 1; back[3] = 2; back[5] = 3
        XCTAssertEqual(perPosition, back)
        XCTAssertThrowsError(try b.modelBatch(padID: 3, maxLength: 4)) { XCTAssertTrue("\($0)".contains("max_new_tokens")) }
    }

    func testSelectingRows_keepsEveryFieldOfThoseRows() {
        let b = RoleCodecTests.sampleBatch(B: 4)
        let s = b.selecting(rows: [2, 0])
        XCTAssertEqual(s.B, 2)
        XCTAssertEqual(s.prompt(0), b.prompt(2))
        XCTAssertEqual(s.response(1), b.response(0))
        XCTAssertEqual(s.scores, [b.scores[2], b.scores[0]])
        for path in ExperienceBatch.perTokenFields {
            XCTAssertEqual(Array(s[keyPath: path][0..<5]), Array(b[keyPath: path][10..<15]))
        }
    }
}
