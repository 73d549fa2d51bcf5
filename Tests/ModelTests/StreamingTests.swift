import Foundation
import Model
import XCTest

/// `Generator.stream`: the tokens `generate` gives for the same prompt and sampling, handed over
/// one by one in order, the stop token last.
final class StreamingTests: XCTestCase {
    func testStream_handsOverGeneratesTokensInOrder() throws {
        let m = RolloutTests.makeModel()
        let gen = Generator(model: m, threads: 1)
        let prompt = [1, 2, 3]
        for sampling in [SamplingParameters.greedy, SamplingParameters(temperature: 1.2, topK: 8, topP: 0.9, seed: 5)] {
            // A stop token the unstopped answer draws third, so the answer ends early.
            let free = try gen.generate(prompts: [prompt], maxNewTokens: 10, sampling: sampling).newTokens[0]
            let stop: Set<Int> = [free[2]]
            for stops in [Set<Int>(), stop] {
                let expected = try gen.generate(prompts: [prompt], maxNewTokens: 10, sampling: sampling, stopTokens: stops)
                var seen: [Int] = []
                let out = try gen.stream(prompt: prompt, maxNewTokens: 10, sampling: sampling, stopTokens: stops) { seen.append($0) }
                XCTAssertEqual(seen, expected.newTokens[0], "streamed tokens, \(sampling), stops \(stops)")
                XCTAssertEqual(out.newTokens, expected.newTokens)
                XCTAssertEqual(out.logProbs, expected.logProbs)
                XCTAssertEqual(out.ended, expected.ended)
                XCTAssertEqual(out.generatedTokens, seen.count)
                if !stops.isEmpty {
                    XCTAssertEqual(out.ended, [true])
                    XCTAssertTrue(stops.contains(seen.last!), "the stop token comes last")
                    XCTAssertLessThanOrEqual(seen.count, 3)
                }
            }
        }
    }

    /// `until` ends the answer between decoding steps (a chat's Ctrl-C): the tokens so far are
    /// the unstopped answer's first ones, and the answer counts as not ended.
    func testStream_stopsWhenAsked() throws {
        let gen = Generator(model: RolloutTests.makeModel(), threads: 1)
        let full = try gen.generate(prompts: [[1, 2, 3]], maxNewTokens: 10).newTokens[0]
        var seen: [Int] = []
        let out = try gen.stream(prompt: [1, 2, 3], maxNewTokens: 10, until: { seen.count >= 4 }) { seen.append($0) }
        XCTAssertEqual(seen, Array(full.prefix(4)))
        XCTAssertEqual(out.newTokens[0], seen)
        XCTAssertEqual(out.ended, [false])
    }

    func testStream_refusesBadInputBeforeAnyToken() {
        let gen = Generator(model: RolloutTests.makeModel(), threads: 1)
        var calls = 0
        XCTAssertThrowsError(try gen.stream(prompt: [1, 99], maxNewTokens: 4) { _ in calls += 1 })
        XCTAssertThrowsError(try gen.stream(prompt: [1], maxNewTokens: 40) { _ in calls += 1 }, "past max_position_embeddings")
        XCTAssertEqual(calls, 0)
    }
}
