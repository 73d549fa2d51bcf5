import Training
import XCTest

/// DAPO's dynamic sampling keeps the groups whose answers score differently, in order, and
/// fills up with groups without signal only when too few have one.
final class DynamicSamplingTests: XCTestCase {
    func testKeepsGroupsWithSignal_first_thenFillsInOrder() {
        // Five groups of three: 0 all right, 1 mixed, 2 all wrong, 3 mixed, 4 mixed.
        let scores: [Float] = [1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        XCTAssertEqual(DynamicSampling.keptGroups(scores: scores, groupSize: 3, count: 2).kept, [1, 3])
        XCTAssertEqual(DynamicSampling.keptGroups(scores: scores, groupSize: 3, count: 3).kept, [1, 3, 4])
        let four = DynamicSampling.keptGroups(scores: scores, groupSize: 3, count: 4)
        XCTAssertEqual(four.kept, [0, 1, 3, 4], "the first group without signal fills in")
        XCTAssertEqual(four.withSignal, 3)
        let none = DynamicSampling.keptGroups(scores: [2, 2, 5, 5], groupSize: 2, count: 1)
        XCTAssertEqual(none.kept, [0])
        XCTAssertEqual(none.withSignal, 0)
        // Real-valued scores (a reward model) differ unless equal bit for bit.
        XCTAssertEqual(DynamicSampling.keptGroups(scores: [0.5, 0.5000001, 3, 3], groupSize: 2, count: 1).kept, [0])
    }
}
