import Foundation
import XCTest

/// RLOO end to end with a reward program whose scores are far above PPO's clip of 5: the
/// advantages `rlhf launch` records are trl's, the leave-one-out baseline over the raw scores
/// minus β times each answer's summed KL, as read back with `rlhf replay export`.
final class RLOOScoreTests: XCTestCase {
    private static let demo = "\(CLIProcess.repoRoot)/data/demo"
    private static let beta = 0.5, groupSize = 2

    private func temporaryDirectory() throws -> String { try StepThreeRuns.temporaryDirectory("rloo-score") }

    @discardableResult
    private func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIProcess.Result {
        try StepThreeRuns.succeed(args, file: file, line: line)
    }

    /// A tokenizer and a random 2-layer model, shared with the other step-3 tests.
    private func makeBase(_ dir: String) throws -> String { "\(try StepThreeRuns.modelsDirectory())/base" }

    /// Scores each response 10 + its length in characters: every score is above 5, and answers
    /// to one prompt differ.
    private func rewardProgram(_ dir: String) throws -> String {
        let path = "\(dir)/ten-plus-length.sh"
        try """
            #!/bin/sh
            while IFS= read -r line; do
              response=$(printf '%s' "$line" | sed 's/.*"response":"\\([^"]*\\)".*/\\1/')
              echo "{\\"score\\": $((10 + ${#response}))}"
            done
            """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func testRLOO_advantagesAreLeaveOneOutOfTheRawScoreMinusTheKL() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try makeBase(dir)
        let program = try rewardProgram(dir)
        // Two iterations: in the first the actor is the reference (KL 0), in the second it is not.
        let topology = """
            run: {name: rloo, directory: \(dir)/rloo, seed: 7}
            models:
              actor: {path: \(base)}
              reward: {program: {command: [\(program)], timeout_seconds: 30}}
            roles:
              actor: {threads: 1}
              reference: {threads: 1}
              reward: {threads: 1}
              buffer: {threads: 1}
            transport: {kind: inproc}
            algorithm:
              name: rloo
              samples_per_prompt: \(Self.groupSize)
              kl_coef: \(Self.beta)
              max_new_tokens: 8
              max_prompt_length: 48
              prompts_per_iteration: 4
              mini_batch_size: 8
              actor_learning_rate: 1.0e-2
              warmup_steps: 0
            data: {prompts: \(Self.demo)/heldout_prompts.jsonl}
            schedule: {iterations: 2, save_every: 2}
            """
        try topology.write(toFile: "\(dir)/rloo.yaml", atomically: true, encoding: .utf8)
        try run(["launch", "\(dir)/rloo.yaml"])
        let export = try run(["replay", "export", "\(dir)/rloo", "--format", "jsonl"])
        let samples = try export.stdout.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON line: \(line)")
        }
        XCTAssertEqual(samples.count, 2 * 4 * Self.groupSize, "a line per sample")

        // Group the answers by iteration and prompt (samples g*G ..< (g+1)*G answer prompt g).
        var groups: [[Int]: [(reward: Double, clipped: Double, advantages: [Double])]] = [:]
        var largestKL = 0.0, distinctScores = false
        for s in samples {
            let iteration = try XCTUnwrap(s["iteration"] as? Int), row = try XCTUnwrap(s["sample"] as? Int)
            let score = try XCTUnwrap((s["score"] as? NSNumber)?.doubleValue)
            let logProbs = try XCTUnwrap(s["logprob"] as? [NSNumber]).map(\.doubleValue)
            let refLogProbs = try XCTUnwrap(s["ref_logprob"] as? [NSNumber]).map(\.doubleValue)
            let advantages = try XCTUnwrap(s["advantage"] as? [NSNumber]).map(\.doubleValue)
            XCTAssertGreaterThanOrEqual(score, 10, "the program's scores reach the log raw")
            let kl = zip(logProbs, refLogProbs).reduce(0.0) { $0 + $1.0 - $1.1 }  // k1, summed over the answer
            largestKL = max(largestKL, abs(kl))
            let key = [iteration, row / Self.groupSize]
            groups[key, default: []].append((score - Self.beta * kl, 5 - Self.beta * kl, advantages))
        }
        XCTAssertGreaterThan(largestKL, 1e-3, "the second iteration's actor has moved from the reference, so β ΣKL counts")

        var worst = 0.0, clippedWouldDiffer = false
        for (key, answers) in groups.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            XCTAssertEqual(answers.count, Self.groupSize, "iteration \(key[0]), prompt \(key[1])")
            let total = answers.reduce(0.0) { $0 + $1.reward }, clippedTotal = answers.reduce(0.0) { $0 + $1.clipped }
            if Set(answers.map(\.reward)).count > 1 { distinctScores = true }
            for (i, a) in answers.enumerated() {
                let expected = a.reward - (total - a.reward) / Double(Self.groupSize - 1)
                let clipped = a.clipped - (clippedTotal - a.clipped) / Double(Self.groupSize - 1)
                for (j, got) in a.advantages.enumerated() {
                    worst = max(worst, abs(got - expected))
                    XCTAssertEqual(got, expected, accuracy: 1e-4 * max(1, abs(expected)),
                                   "iteration \(key[0]), prompt \(key[1]), answer \(i), token \(j)")
                    if abs(got - clipped) > 1e-2 { clippedWouldDiffer = true }
                }
            }
        }
        XCTAssertTrue(distinctScores, "some prompt's answers scored differently, so the check can tell raw from clipped")
        XCTAssertTrue(clippedWouldDiffer, "advantages from scores clipped to 5 would differ from the recorded ones")
        print("RLOO advantages against leave-one-out of (raw score - β ΣKL): worst |difference| \(worst)")
    }
}
