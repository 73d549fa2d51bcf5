import Foundation
import Replay
import Roles
import Training
import XCTest

/// What `rlhf replay` answers from a log: diff finds a planted difference where it is, export
/// round-trips every per-token figure, top ranks samples.
final class ReplayQueryTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("xq-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    private func log(_ name: String, _ records: [ExperienceRecord]) async throws -> ExperienceLogReader {
        let dir = "\(root)/\(name)/experiences"
        let log = try ExperienceLog(directory: dir)
        for r in records { try await log.record(r) }
        try await log.close()
        return try ExperienceLogReader(run: "\(root)/\(name)")
    }

    private func records() -> [ExperienceRecord] { (0..<3).map { ExperienceLogTests.record(iteration: $0) } }

    func testDiff_identicalLogs_haveNoDifference() async throws {
        let a = try await log("a", records()), b = try await log("b", records())
        XCTAssertNil(try RunDiff.first(a, b))
    }

    /// A difference in the last bit of one advantage is found at its iteration, sample, field
    /// and position; an earlier planted difference wins over a later one.
    func testDiff_findsAPlantedDifference() async throws {
        var changed = records()
        let R = changed[1].batch.responseWidth
        let at = 1 * R + 0  // sample 1, response position 0
        changed[1].batch.advantages[at] = Float(bitPattern: changed[1].batch.advantages[at].bitPattern ^ 1)
        changed[2].batch.responses[0] += 1
        let a = try await log("a", records()), b = try await log("b", changed)
        let d = try XCTUnwrap(try RunDiff.first(a, b))
        XCTAssertEqual(d.iteration, 1)
        XCTAssertEqual(d.sample, 1)
        XCTAssertEqual(d.field, "advantage")
        XCTAssertEqual(d.position, 0)
        XCTAssertTrue(d.description.contains("iteration 2, batch 1, sample 1, advantage at position 0"), d.description)

        // A run that stopped early differs by its missing records.
        let short = try await log("short", Array(records().prefix(2)))
        let e = try XCTUnwrap(try RunDiff.first(a, short))
        XCTAssertEqual(e.field, "records")
        XCTAssertEqual(e.iteration, 2)
        // Weights after an update differ although every experience is the same.
        var weights = records()
        weights[0].digests["actor"]![1].value ^= 1
        let w = try await log("w", weights)
        let f = try XCTUnwrap(try RunDiff.first(a, w))
        XCTAssertTrue(f.field == "actor weights after the update" && f.a.contains("lm_head.weight"), f.description)
    }

    /// JSON lines read back (with JSONDecoder, as `Float`s) give every per-token field of every
    /// sample, bit for bit; CSV has one row per response token.
    func testExport_roundTripsEveryPerTokenField() async throws {
        let recs = records()
        let reader = try await log("a", recs)
        var jsonl = ""
        try ExperienceExport.export(reader, format: .jsonl) { jsonl += $0 }
        struct Line: Decodable {
            var iteration: Int, sample: Int, batch_id: Int
            var response_ids: [Int32], prompt_ids: [Int32], tokens: [String]
            var score: Float?
            var behaviour_logprob: [Float?], logprob: [Float?], ref_logprob: [Float?], kl: [Float?], value: [Float?]
            var reward: [Float?], kl_reward: [Float?], advantage: [Float?], `return`: [Float?]
        }
        let lines = try jsonl.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        XCTAssertEqual(lines.count, recs.reduce(0) { $0 + $1.batch.B })
        var k = 0
        for r in recs {
            let b = r.batch
            for row in 0..<b.B {
                let l = lines[k]; k += 1
                XCTAssertEqual(l.iteration, b.iteration + 1)
                XCTAssertEqual(l.sample, row)
                XCTAssertEqual(l.response_ids, b.response(row))
                XCTAssertEqual(l.prompt_ids, b.prompt(row))
                XCTAssertEqual(l.tokens.count, l.response_ids.count)
                let n = Int(b.responseLengths[row]), base = row * b.responseWidth
                func bits(_ v: [Float?]) -> [UInt32?] { v.map { $0?.bitPattern } }
                func field(_ f: [Float]) -> [UInt32?] { f[base..<(base + n)].map { $0.isFinite ? $0.bitPattern : nil } }
                XCTAssertEqual(bits(l.behaviour_logprob), field(b.behaviourLogProbs))
                XCTAssertEqual(bits(l.logprob), field(b.logProbs))
                XCTAssertEqual(bits(l.ref_logprob), field(b.refLogProbs))
                XCTAssertEqual(bits(l.value), field(b.values))
                XCTAssertEqual(bits(l.reward), field(b.rewards))
                XCTAssertEqual(bits(l.kl_reward), field(b.klRewards))
                XCTAssertEqual(bits(l.advantage), field(b.advantages))
                XCTAssertEqual(bits(l.return), field(b.returns))
                XCTAssertEqual(l.score?.bitPattern, b.scores[row].bitPattern)
            }
        }
        var csv = ""
        try ExperienceExport.export(reader, format: .csv) { csv += $0 }
        let rows = csv.split(separator: "\n")
        XCTAssertEqual(rows.first.map(String.init), ExperienceExport.csvHeader)
        XCTAssertEqual(rows.count - 1, recs.reduce(0) { $0 + $1.batch.responseTokenCount })
    }

    /// The rule verdict replay shows beside a score reads the question out of the rendered prompt.
    func testRuleVerdict_readsTheQuestionOutOfTheTemplate() {
        XCTAssertEqual(RuleVerdict.of(prompt: " Human: Compute 19 - 5. Assistant:", response: " 1"), "wrong (expected 14)")
        XCTAssertEqual(RuleVerdict.of(prompt: " Human: Compute 19 - 5. Assistant:", response: " 14"), "right")
        XCTAssertEqual(RuleVerdict.of(prompt: "Sort these words alphabetically: sun cat", response: "cat sun"), "right")
        XCTAssertNil(RuleVerdict.of(prompt: " Human: Tell me a joke. Assistant:", response: " no"))
    }

    func testTop_ranksSamplesAtBothEnds() async throws {
        let recs = records()
        let reader = try await log("a", recs)
        let (high, low) = try SampleRanking.extremes(reader, by: .reward, count: 2)
        let scores = recs.flatMap(\.batch.scores).sorted()
        XCTAssertEqual(high.map(\.score), [scores[scores.count - 1], scores[scores.count - 2]])
        XCTAssertEqual(low.map(\.score), [scores[0], scores[1]])
        let (longest, _) = try SampleRanking.extremes(reader, by: .length, count: 1)
        XCTAssertEqual(longest.first?.response.count, Int(recs.flatMap(\.batch.responseLengths).max()!))
    }
}
