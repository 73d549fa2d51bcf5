import Model
import TestSupport
import Tensor
import Training
import XCTest

/// The actor's and the critic's updates move the model the way their losses say.
final class PolicyTrainerTests: XCTestCase {
    static func config() -> LlamaConfig {
        LlamaConfig(vocabSize: 17, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 2,
                    numKeyValueHeads: 1, headDim: 8, maxPositionEmbeddings: 32, rmsNormEps: 1e-5, ropeTheta: 10000,
                    tieWordEmbeddings: false, attentionBias: false)
    }

    /// Two responses to two prompts; row 0 gets advantage +1, row 1 gets -1.
    static func batch(_ model: Llama, pool: ActivationPool) throws -> ExperienceBatch {
        var b = ExperienceBatch(batchID: 0, iteration: 0, policyVersion: 0, B: 2, promptWidth: 3, responseWidth: 4, groupSize: 1)
        b.promptLengths = [3, 2]
        b.prompts = [1, 5, 6, 1, 7, 0]
        b.responseLengths = [4, 3]
        b.responses = [8, 9, 10, 2, 11, 12, 2, 0]
        b.logProbs = try b.logProbs(under: model, pool: pool, padID: 0)
        b.advantages = b.mask.enumerated().map { $0.element * ($0.offset < 4 ? 1 : -1) }
        return b
    }

    func testPolicyUpdate_raisesPositiveAndLowersNegativeAdvantageResponses() throws {
        for algorithm in RLAlgorithmConfig.Algorithm.allCases {
            let model = Llama(config: Self.config())
            model.initializeRandom(seed: 3, std: 0.3)
            var config = RLAlgorithmConfig(algorithm: algorithm)
            config.actorLearningRate = 1e-2
            config.warmupSteps = 0
            config.klCoef = 0
            let trainer = PolicyTrainer(model: model, trainable: FullParameters(model: model), config: config, padID: 0, totalUpdates: 10)
            let batch = try Self.batch(model, pool: ActivationPool(model: model))
            let before = try trainer.logProbs(of: batch)
            for _ in 0..<3 { _ = try trainer.update(batch) }
            let after = try trainer.logProbs(of: batch)
            let sum = { (x: [Float], row: Int) in (0..<4).reduce(Float(0)) { $0 + x[row * 4 + $1] } }
            XCTAssertGreaterThan(sum(after, 0), sum(before, 0) + 0.1, "\(algorithm): the positive-advantage response should gain probability")
            XCTAssertLessThan(sum(after, 1), sum(before, 1) - 0.1, "\(algorithm): the negative-advantage response should lose probability")
        }
    }

    func testValueUpdate_movesValuesTowardsReturns() throws {
        let model = Llama(config: Self.config(), head: .score(labels: 1))
        model.initializeRandom(seed: 4, std: 0.3)
        var config = RLAlgorithmConfig()
        config.criticLearningRate = 1e-2
        config.warmupSteps = 0
        config.valueClip = 100
        let trainer = ValueTrainer(model: model, trainable: FullParameters(model: model), config: config, padID: 0, totalUpdates: 10)
        let pool = ActivationPool(model: model)
        var batch = try PolicyTrainerTests.batch(Llama(config: Self.config()), pool: ActivationPool(model: Llama(config: Self.config())))
        _ = pool
        batch.values = try trainer.values(of: batch)
        batch.returns = batch.mask.map { $0 * 2 }
        let error = { (v: [Float]) in zip(v, batch.returns).enumerated().reduce(Float(0)) { $0 + (batch.mask[$1.offset] * abs($1.element.0 - $1.element.1)) } }
        let before = error(batch.values)
        for _ in 0..<5 { _ = try trainer.update(batch) }
        XCTAssertLessThan(error(try trainer.values(of: batch)), before * 0.8)
    }

    /// At a sampling temperature T the training forward gives log softmax(logits / T), the
    /// distribution the generator sampled from, and its backward is that function's gradient.
    func testTemperature_logProbsAreTheSampledDistributions_andTheGradientChecks() throws {
        let model = Llama(config: Self.config())
        model.initializeRandom(seed: 6, std: 0.4)
        let T = 0.6
        let rollout = try Generator(model: model, threads: 1).rollout(
            prompts: [[1, 5, 6], [7]], samplesPerPrompt: 2, maxNewTokens: 5,
            sampling: SamplingParameters(temperature: Float(T), seed: 3), stopTokens: [2])
        var batch = ExperienceBatch(batchID: 0, iteration: 0, policyVersion: 0, B: 4, promptWidth: 3, responseWidth: 5, groupSize: 2)
        for b in 0..<4 {
            let p = rollout.prompts[b].map(Int32.init), r = rollout.responses[b].map(Int32.init)
            batch.promptLengths[b] = Int32(p.count)
            for (t, id) in p.enumerated() { batch.prompts[b * 3 + t] = id }
            batch.responseLengths[b] = Int32(r.count)
            for (j, id) in r.enumerated() { batch.responses[b * 5 + j] = id }
        }
        let pool = ActivationPool(model: model)
        let tempered = try batch.logProbs(under: model, pool: pool, padID: 0, temperature: T)
        let plain = try batch.logProbs(under: model, pool: pool, padID: 0)
        var sampled = [Float](repeating: 0, count: 20)
        for b in 0..<4 { for (j, lp) in rollout.logProbs[b].enumerated() { sampled[b * 5 + j] = lp } }
        let mask = batch.mask
        XCTAssertTrue(Closeness(zip(tempered, mask).map { $0 * $1 }, zip(sampled, mask).map { $0 * $1 }, atol: 1e-4).passed,
                      "the tempered forward gives the sampling distribution's log-probabilities")
        XCTAssertFalse(Closeness(zip(plain, mask).map { $0 * $1 }, zip(sampled, mask).map { $0 * $1 }, atol: 1e-3).passed,
                       "at T = 1 they differ, so the check above proves something")

        // d/dθ Σ w_j log p_T(a_j) by the tempered backward against central differences.
        let layout = try batch.responseLayout(padID: 0, maxLength: 32, sharePrompts: false)
        let mb = layout.batch
        let weights = (0..<20).map { Float(($0 % 7) - 3) * 0.3 * mask[$0] }
        let acts = TrainingActivations(model: model, B: mb.B, T: mb.T, withLogits: false)
        func loss() -> Double {
            TemperedLanguageModel.forward(model, mb, acts, temperature: T)
            let lp = layout.gather(acts.logprobs.pointer)
            return zip(lp, weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let gradients = model.enableGradients()
        gradients.zero()
        _ = loss()
        var d = [Float](repeating: 0, count: mb.B * mb.T)
        d.withUnsafeMutableBufferPointer { layout.scatter(weights, into: $0.baseAddress!) }
        TemperedLanguageModel.backward(model, dlogprobs: d, mb, acts, temperature: T)
        let check = BlockGradientCheck.compare(entries: model.layout.entries, values: model.parameters.pointer,
                                               analytic: gradients.array, loss: loss)
        XCTAssertTrue(check.passed, "\(check)")
    }
}
