import Datasets
import Training
import XCTest

/// Docs/data-formats.md and Docs/training.md: `train` seeds data_split, the hold-out, mixing and
/// the shuffles with `data_seed`, which defaults to `seed` (42); DeepSpeed-Chat's 1234 is only the
/// default of `DataOptions`, for callers of the library.
final class DataSeedTests: XCTestCase {
    /// Which demo lines a recipe holds out for evaluation (eval_fraction 0.25).
    func heldOut(seed: Int?, dataSeed: Int?) throws -> [Int] {
        var r = TrainingRecipe()
        r.modelNameOrPath = Fixture.tokenizerDirectory
        r.trainFile = [Fixture.demoEval]  // 500 records
        r.evalFraction = 0.25
        if let seed { r.seed = seed }
        r.dataSeed = dataSeed
        let data = try TrainingData(recipe: r, stage: .sft)
        return data.records.eval.map(\.source.line).sorted()
    }

    func testDataSeed_defaultsToSeed_notToDeepSpeedChats1234() throws {
        XCTAssertEqual(TrainingRecipe().seed, 42)
        XCTAssertNil(TrainingRecipe().dataSeed)
        XCTAssertEqual(DataOptions(sources: []).seed, 1234, "the library default the doc names")
        let byDefault = try heldOut(seed: nil, dataSeed: nil)
        XCTAssertFalse(byDefault.isEmpty)
        XCTAssertEqual(byDefault, try heldOut(seed: nil, dataSeed: 42))
        XCTAssertNotEqual(byDefault, try heldOut(seed: nil, dataSeed: 1234), "1234 is not what train uses")
        XCTAssertEqual(try heldOut(seed: 7, dataSeed: nil), try heldOut(seed: 1, dataSeed: 7), "seed stands in for data_seed")
        XCTAssertNotEqual(try heldOut(seed: 7, dataSeed: nil), byDefault)
    }
}
