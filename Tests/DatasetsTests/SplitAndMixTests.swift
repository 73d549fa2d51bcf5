import Datasets
import Foundation
import XCTest

/// data_split, mixing, eval hold-out and sample caps: deterministic by seed, in proportion.
final class SplitAndMixTests: XCTestCase {
    var dir: ScratchDirectory!
    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir.remove() }

    private func textFile(_ name: String, count: Int, prefix: String) throws -> String {
        try dir.writeLines(name, (0..<count).map { #"{"text": "\#(prefix)\#($0)"}"# })
    }

    private func texts(_ records: [DatasetRecord]) -> [String] { records.compactMap { $0.textRecord?.text } }

    func testDataSplit_parsesAndRefusesBadSpecs() throws {
        XCTAssertEqual(try DataSplit(parsing: "6,2,2").weights, [6, 2, 2])
        XCTAssertEqual(try DataSplit(parsing: " 10, 0 ,0").weights, [10, 0, 0])
        for bad in ["6,2", "6,2,2,1", "6,-2,2", "0,0,0", "a,b,c", "6.5,2,2", ""] {
            XCTAssertThrowsError(try DataSplit(parsing: bad), bad) { error in
                XCTAssertEqual((error as? DatasetError)?.kind, .invalidOption)
                XCTAssertTrue("\(error)".contains("like 6,2,2"), "\(error)")
            }
        }
    }

    func testDataSplit_stepsAreDisjointCoverAllAndFollowTheRatios() throws {
        let split = try DataSplit(parsing: "6,2,2")
        let parts = DataSplit.Step.allCases.map { split.indices(for: $0, count: 1000, seed: 42) }
        XCTAssertEqual(parts.map(\.count), [600, 200, 200])
        XCTAssertEqual(Set(parts.joined()).count, 1000)
        XCTAssertEqual(parts.joined().sorted(), Array(0..<1000))
        XCTAssertEqual(parts[0], parts[0].sorted(), "a step's records come back in file order")
        // Odd sizes still cover every record exactly once.
        let odd = DataSplit.Step.allCases.map { split.indices(for: $0, count: 7, seed: 1) }
        XCTAssertEqual(odd.joined().sorted(), Array(0..<7))
    }

    func testDataSplit_sameSeedSameSplitOtherSeedOther() throws {
        let split = try DataSplit(parsing: "2,4,4")
        XCTAssertEqual(split.indices(for: .reward, count: 500, seed: 7), split.indices(for: .reward, count: 500, seed: 7))
        XCTAssertNotEqual(split.indices(for: .reward, count: 500, seed: 7), split.indices(for: .reward, count: 500, seed: 8))
        XCTAssertNotEqual(split.indices(for: .sft, count: 500, seed: 7), Array(0..<100), "the split is shuffled, not the first records")
    }

    func testPreparedData_dataSplitGivesEachStepItsShare() throws {
        let path = try textFile("d.jsonl", count: 100, prefix: "r")
        var options = DataOptions(sources: [DataSource(path: path)], dataSplit: try DataSplit(parsing: "6,2,2"), seed: 3)
        let steps = try DataSplit.Step.allCases.map { try PreparedData(options, step: $0).train }
        XCTAssertEqual(steps.map(\.count), [60, 20, 20])
        XCTAssertEqual(Set(steps.flatMap(texts)).count, 100)
        options.dataSplit = try DataSplit(parsing: "10,0,0")
        XCTAssertThrowsError(try PreparedData(options, step: .rl)) { error in
            XCTAssertEqual((error as? DatasetError)?.kind, .noRecords)
        }
    }

    func testMixture_proportionsExactAndDeterministic() throws {
        let a = (0..<100).map { "a\($0)" }
        let b = (0..<10).map { "b\($0)" }
        let mixed = try DatasetMixture.mix([a, b], weights: [3, 1], total: 200, seed: 5)
        XCTAssertEqual(mixed.count, 200)
        XCTAssertEqual(mixed.filter { $0.hasPrefix("a") }.count, 150)
        XCTAssertEqual(mixed.filter { $0.hasPrefix("b") }.count, 50)
        // b is repeated whole five times; a gives 100 distinct + 50 distinct.
        for item in b { XCTAssertEqual(mixed.filter { $0 == item }.count, 5) }
        XCTAssertEqual(Set(mixed.filter { $0.hasPrefix("a") }).count, 100)
        XCTAssertEqual(mixed, try DatasetMixture.mix([a, b], weights: [3, 1], total: 200, seed: 5))
        XCTAssertNotEqual(mixed, try DatasetMixture.mix([a, b], weights: [3, 1], total: 200, seed: 6))
        // Sources interleave rather than follow each other.
        XCTAssertTrue(mixed.prefix(50).contains { $0.hasPrefix("b") })
    }

    func testMixture_downsamplesWithoutRepeatsAndRefusesBadWeights() throws {
        let a = (0..<100).map { $0 }
        let taken = try DatasetMixture.mix([a, [1000]], weights: [1, 0], total: 40, seed: 1)
        XCTAssertEqual(taken.count, 40)
        XCTAssertEqual(Set(taken).count, 40)
        XCTAssertFalse(taken.contains(1000))
        XCTAssertThrowsError(try DatasetMixture.mix([a], weights: [0], seed: 1))
        XCTAssertThrowsError(try DatasetMixture.mix([a, a], weights: [1], seed: 1))
        XCTAssertThrowsError(try DatasetMixture.mix([a, []], weights: [1, 1], seed: 1))
    }

    func testPreparedData_mixesSourcesByWeight() throws {
        let a = try textFile("a.jsonl", count: 30, prefix: "a")
        let b = try textFile("b.jsonl", count: 30, prefix: "b")
        let options = DataOptions(sources: [try DataSource(parsing: "\(a):2"), DataSource(path: b)], seed: 9)
        let train = texts(try PreparedData(options).train)
        XCTAssertEqual(train.count, 60)
        XCTAssertEqual(train.filter { $0.hasPrefix("a") }.count, 40)
        XCTAssertEqual(try DataSource(parsing: "/data/x.jsonl:0.5"), DataSource(path: "/data/x.jsonl", weight: 0.5))
        XCTAssertEqual(try DataSource(parsing: "/data/x.jsonl"), DataSource(path: "/data/x.jsonl", weight: 1))
    }

    func testEvalFraction_disjointDeterministicAndSized() throws {
        let path = try textFile("d.jsonl", count: 200, prefix: "r")
        let options = DataOptions(sources: [DataSource(path: path)], evalFraction: 0.1, seed: 11)
        let data = try PreparedData(options)
        XCTAssertEqual(data.eval.count, 20)
        XCTAssertEqual(data.train.count, 180)
        XCTAssertTrue(Set(texts(data.train)).isDisjoint(with: texts(data.eval)))
        XCTAssertEqual(texts(try PreparedData(options).eval), texts(data.eval))
        var other = options
        other.seed = 12
        XCTAssertNotEqual(texts(try PreparedData(other).eval), texts(data.eval))
    }

    func testEvalFile_andMaxSamples() throws {
        let train = try textFile("train.jsonl", count: 50, prefix: "t")
        let eval = try textFile("eval.jsonl", count: 20, prefix: "e")
        let options = DataOptions(sources: [DataSource(path: train)], evalPath: eval, maxTrainSamples: 8, maxEvalSamples: 3)
        let data = try PreparedData(options)
        XCTAssertEqual(texts(data.train), (0..<8).map { "t\($0)" })
        XCTAssertEqual(texts(data.eval), ["e0", "e1", "e2"])
        XCTAssertEqual(data.files.count, 2)
        XCTAssertTrue(data.summary.hasPrefix("train records: 8, eval records: 3"), data.summary)
        XCTAssertTrue(data.summary.contains("train.jsonl: 50 records, format text (detected)"), data.summary)
    }

    func testOptions_contradictionsAreRefusedBeforeReading() {
        let options = [
            DataOptions(sources: []),
            DataOptions(sources: [DataSource(path: "x")], evalPath: "y", evalFraction: 0.1),
            DataOptions(sources: [DataSource(path: "x")], evalFraction: 1.5),
            DataOptions(sources: [DataSource(path: "x")], maxTrainSamples: 0),
        ]
        for option in options {
            XCTAssertThrowsError(try PreparedData(option)) { error in
                XCTAssertEqual((error as? DatasetError)?.kind, .invalidOption, "\(error)")
            }
        }
    }

    func testOptions_roundTripThroughJSON() throws {
        let options = DataOptions(sources: [DataSource(path: "a.jsonl", weight: 2)], format: .sharegpt,
                                  dataSplit: try DataSplit(parsing: "6,2,2"), maxTrainSamples: 10, seed: 99)
        let data = try JSONEncoder().encode(options)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains(#""dataSplit":"6,2,2""#))
        XCTAssertEqual(try JSONDecoder().decode(DataOptions.self, from: data), options)
    }
}
