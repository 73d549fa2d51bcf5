import Model
import TestSupport
import Training
import XCTest

/// One whole step-3 iteration against PyTorch (`Fixtures/update`, Scripts/fixtures/make_update_fixture.py):
/// from the same starting weights and recorded batch, the experience buffer's advantages and one
/// `PolicyTrainer` / `ValueTrainer` update -- two passes of shuffled mini-batches, each loss over
/// the mini-batch's tokens, gradient clipping, AdamW on the warm-up/cosine schedule, ptx for the
/// PPO actor, the tempered forward for GRPO -- must give every weight PyTorch's float64 update
/// gives, within 1e-5 absolute + 1e-5 relative. The formula tests (RLLossTests, AdvantagesTests)
/// check the parts; this checks how they are put together.
final class UpdateFixtureTests: XCTestCase {
    /// Tolerance of every updated weight: float32 rounding through a few AdamW steps of lr 2e-3.
    private static let atol = 1e-5, rtol = 1e-5

    func testPPOActor_oneIterationWithPTXMatchesPyTorch() throws {
        try checkPolicyUpdate("ppo")
    }

    func testPPOCritic_oneIterationMatchesPyTorch() throws {
        try checkValueUpdate("ppo_critic")
    }

    func testGRPO_oneIterationAtATemperatureMatchesPyTorch() throws {
        try checkPolicyUpdate("grpo")
    }

    func testRLOO_oneIterationMatchesPyTorch() throws {
        try checkPolicyUpdate("rloo")
    }

    // MARK: - The checks

    /// The batch with the engine's advantages, after checking them against the fixture's.
    private func experiences(_ fixture: UpdateFixture, _ c: UpdateFixture.Case, _ config: RLAlgorithmConfig) throws -> ExperienceBatch {
        var batch = try fixture.batch(c)
        batch.computeAdvantages(config: config, klCoef: c.klCoef)
        let R = batch.responseWidth
        let place = { (i: Int) in "row \(i / R), token \(i % R)" }
        let advantages = Closeness(batch.advantages, fixture.grid(c.advantages, batch), atol: 1e-6, rtol: 1e-5, label: place)
        XCTAssertTrue(advantages.passed, "\(c.name): advantages from the scores and the KL against numpy: \(advantages)")
        if c.algorithm == .ppo {
            let returns = Closeness(batch.returns, fixture.grid(c.returns, batch), atol: 1e-6, rtol: 1e-5, label: place)
            XCTAssertTrue(returns.passed, "\(c.name): returns against numpy: \(returns)")
        }
        return batch
    }

    private func checkPolicyUpdate(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try UpdateFixture.load()
        let c = try fixture.testCase(name)
        XCTAssertEqual(c.trainer, "policy")
        let config = try fixture.config(c)
        let batch = try experiences(fixture, c, config)
        let model = try Llama.load(directory: "\(fixture.directory)/actor")
        let trainer = PolicyTrainer(model: model, trainable: FullParameters(model: model), config: config, padID: fixture.padID,
                                    totalUpdates: c.totalUpdates, ptx: c.ptx ? try fixture.ptxData() : nil)
        let start = model.parameters.array
        let figures = try trainer.update(batch)
        try compare(model, start: start, fixture, c, figures: figures, file: file, line: line)
    }

    private func checkValueUpdate(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try UpdateFixture.load()
        let c = try fixture.testCase(name)
        XCTAssertEqual(c.trainer, "value")
        let config = try fixture.config(c)
        let batch = try experiences(fixture, c, config)
        let model = try Llama.loadCritic(directory: "\(fixture.directory)/critic")
        let trainer = ValueTrainer(model: model, trainable: FullParameters(model: model), config: config, padID: fixture.padID,
                                   totalUpdates: c.totalUpdates)
        let start = model.parameters.array
        let figures = try trainer.update(batch)
        try compare(model, start: start, fixture, c, figures: figures, file: file, line: line)
    }

    /// Every weight against PyTorch's (the worst difference and where is printed either way), the
    /// fixture's update large enough that staying put would fail, and the update's figures.
    private func compare(_ model: Llama, start: [Float], _ fixture: UpdateFixture, _ c: UpdateFixture.Case,
                         figures: [String: Double], file: StaticString, line: UInt) throws {
        let expected = try fixture.expectedWeights(c, for: model)
        let label = UpdateFixture.label(model)
        let weights = Closeness(model.parameters.array, expected, atol: Self.atol, rtol: Self.rtol, label: label)
        print("\(c.name): updated weights against PyTorch: \(weights)")
        XCTAssertTrue(weights.passed, "\(c.name): updated weights against PyTorch: \(weights)", file: file, line: line)
        let unmoved = Closeness(start, expected, atol: Self.atol, rtol: Self.rtol, label: label)
        XCTAssertGreaterThan(unmoved.mismatches, model.layout.count / 2,
                             "\(c.name): the fixture's update should move most weights beyond the tolerance: \(unmoved)",
                             file: file, line: line)
        for (key, want) in c.figures.sorted(by: { $0.key < $1.key }) {
            let got = try XCTUnwrap(figures[key], "\(c.name): the update reports no '\(key)'", file: file, line: line)
            XCTAssertEqual(got, want, accuracy: 1e-6 + 1e-5 * abs(want), "\(c.name): \(key) against PyTorch", file: file, line: line)
        }
    }
}
