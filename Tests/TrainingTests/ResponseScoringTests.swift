import Foundation
import Model
import Tensor
import Training
import XCTest

/// Teacher-forced response log-probabilities and values (the trainer's forward), and the frozen
/// reference that shares the actor's base weights under LoRA.
final class ResponseScoringTests: XCTestCase {
    static func languageModel(seed: UInt64 = 7) -> Llama {
        let m = Llama(config: Fixture.tinyConfig(hidden: 32, layers: 2))
        m.initializeRandom(seed: seed, std: 0.1)
        return m
    }

    /// LoRA adapters on every projection with a non-zero B, so they change the outputs.
    static func attachAdapters(_ m: Llama, dropout: Double = 0) -> LoRAAdapters {
        let lora = LoRAAdapters(config: LoRAConfig(r: 2, dropout: dropout, targetModules: LoRATarget.allCases), for: m, seed: 1)
        var rng = SplitMix64(seed: 5)
        for i in 0..<lora.parameters.count { lora.parameters.pointer[i] = (rng.nextFloat() - 0.5) * 0.4 }
        m.attach(lora)
        return lora
    }

    static let prompts = [[1, 20, 30], [40], [50, 60, 70, 80, 90], [7, 8]]

    /// At temperature 1 without top-k or top-p, the sampler's log-probs are the model's: the
    /// teacher-forced forward (in batches of 3, with the adapters' dropout switched off for it)
    /// gives the rollout's within 1e-4.
    func testResponseLogProbs_equalTheRolloutsAtTemperature1() throws {
        let m = Self.languageModel()
        let lora = Self.attachAdapters(m, dropout: 0.3)
        XCTAssertTrue(lora.appliesDropout)
        let r = try Generator(model: m, threads: 2).rollout(prompts: Self.prompts, samplesPerPrompt: 2, maxNewTokens: 9,
                                                            sampling: SamplingParameters(temperature: 1, seed: 3), stopTokens: [2])
        let pool = ActivationPool(model: m)
        let recomputed = try m.responseLogProbs(prompts: r.prompts, responses: r.responses, batchSize: 3, pool: pool)
        XCTAssertTrue(lora.appliesDropout, "the adapters' dropout setting is restored")
        XCTAssertEqual(recomputed.map(\.count), r.responses.map(\.count))
        var compared = 0
        for (a, b) in zip(recomputed.joined(), r.logProbs.joined()) {
            XCTAssertTrue(abs(a - b) <= 1e-4, "\(a) vs \(b)")
            compared += 1
        }
        XCTAssertEqual(compared, r.generatedTokens)
        XCTAssertTrue(compared > 30)
    }

    /// The reference over the actor's base block, without its adapters: the log-probs of a freshly
    /// loaded base model (the same bits), while the actor with its adapters gives others; the
    /// actor keeps its adapters, flags and weights.
    func testReference_isTheBaseWithoutAdaptersAndLeavesTheActorAlone() throws {
        let directory = Fixture.temporaryDirectory("reference-base")
        try Self.languageModel(seed: 9).save(directory: directory)
        let actor = try Llama.load(directory: directory)
        let lora = Self.attachAdapters(actor)
        let parametersBefore = actor.parameters.array, adaptersBefore = lora.parameters.array
        let reference = actor.sharingBaseWithoutAdapters()
        XCTAssertTrue(reference.sharesParameters(with: actor))
        XCTAssertNil(reference.adapters)
        XCTAssertFalse(reference.trainsBase)

        let responses = [[5, 6, 7], [8], [9, 10, 11, 12], [13, 14]]
        let actorBefore = try actor.responseLogProbs(prompts: Self.prompts, responses: responses, pool: ActivationPool(model: actor))
        let referenceLogProbs = try reference.responseLogProbs(prompts: Self.prompts, responses: responses, pool: ActivationPool(model: reference))
        let fresh = try Llama.load(directory: directory)
        let freshLogProbs = try fresh.responseLogProbs(prompts: Self.prompts, responses: responses, pool: ActivationPool(model: fresh))
        XCTAssertEqual(referenceLogProbs, freshLogProbs)
        let actorAfter = try actor.responseLogProbs(prompts: Self.prompts, responses: responses, pool: ActivationPool(model: actor))
        XCTAssertEqual(actorAfter, actorBefore)
        let largest = zip(actorAfter.joined(), referenceLogProbs.joined()).map { abs($0 - $1) }.max()!
        XCTAssertTrue(largest > 1e-3, "the adapters change the log-probs (largest difference \(largest))")

        XCTAssertTrue(actor.adapters === lora)
        XCTAssertFalse(actor.trainsBase)
        XCTAssertEqual(actor.parameters.array, parametersBefore)
        XCTAssertEqual(lora.parameters.array, adaptersBefore)
        XCTAssertNil(reference.gradients)
        XCTAssertNil(actor.gradients)
    }

    /// The critic's values per response token sit at the positions that predict them.
    func testResponseValues_readThePositionBeforeEachToken() throws {
        let critic = Self.languageModel().makeRewardModel(padTokenID: 3, seed: 2, std: 0.3)
        let responses = [[5, 6, 7], [], [9, 10, 11, 12], [13, 14]]
        let values = try critic.responseValues(prompts: Self.prompts, responses: responses, batchSize: 2, pool: ActivationPool(model: critic))
        XCTAssertEqual(values.map(\.count), [3, 0, 4, 2])
        for (b, (p, r)) in zip(Self.prompts, responses).enumerated() {
            let ids = (p + r).map(Int32.init)
            let acts = TrainingActivations(model: critic, B: 1, T: ids.count, withLogits: false)
            critic.forward(ids: ids, acts: acts)
            let all = critic.valuesForward(acts: acts)
            for j in r.indices { XCTAssertTrue(abs(values[b][j] - all[p.count + j - 1]) <= 1e-5, "row \(b) token \(j)") }
        }
    }

    func testResponseScoring_refusesBadInput() {
        let m = Self.languageModel()
        let pool = ActivationPool(model: m)
        func expect(_ expected: ModelInputError, _ prompts: [[Int]], _ responses: [[Int]], line: UInt = #line) {
            XCTAssertThrowsError(try m.responseLogProbs(prompts: prompts, responses: responses, batchSize: 2, pool: pool), line: line) {
                XCTAssertEqual($0 as? ModelInputError, expected, "\($0)", line: line)
            }
        }
        expect(.tokenOutsideVocabulary(token: 700, vocabularySize: 640, position: "response 2, token 1"), [[1], [2], [3]], [[4], [5], [6, 700]])
        expect(.countMismatch(what: "responses (one per prompt)", expected: 2, got: 1), [[1], [2]], [[3]])
        expect(.emptySequence("prompt 1"), [[1], []], [[3], [4]])
        expect(.sequenceTooLong(what: "prompt 0 + response 0", length: 129, maxPositionEmbeddings: 128),
               [[Int](repeating: 1, count: 100)], [[Int](repeating: 2, count: 29)])
        expect(.notPositive(what: "number of prompts", value: 0), [], [])
    }
}
