import Foundation
import Model
import Roles
import TestSupport
import Training
import XCTest

/// The critic values a batch by the version the request names: its current weights, or the
/// weights of one of its last `max_staleness` versions, or, through `CriticRole`, the version
/// its next update makes, once that update is done.
final class CriticVersionTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("critic-versions-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private func plan(staleness: Int) throws -> RunPlan {
        var c = LlamaConfig(vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2,
                            numKeyValueHeads: 1, maxPositionEmbeddings: 32)
        c.padTokenID = 3
        c.eosTokenID = 2
        let lm = Llama(config: c)
        lm.initializeRandom(seed: 5, std: 0.5)
        try lm.makeRewardModel(padTokenID: 3, seed: 8, std: 0.5).save(directory: "\(dir)/critic")
        var plan = RunPlan(runID: "critic", directory: "\(dir)/run", actorModel: "\(dir)/critic", reward: .demoRules,
                           criticModel: "\(dir)/critic", promptsFile: "unused", endpoints: [:])
        plan.algorithm.maxStaleness = staleness
        plan.algorithm.miniBatchSize = 2
        plan.algorithm.criticLearningRate = 1e-2
        plan.algorithm.warmupSteps = 0
        return plan
    }

    /// A batch whose returns are far from the critic's values, so each update moves them.
    private func batch(_ critic: CriticLogic) throws -> ExperienceBatch {
        var b = ExperienceBatch(prompts: [[5, 6, 7], [8, 9]], responses: [[10, 11], [12, 13, 14]], padID: 3)
        guard case .perToken(let v) = try critic.handle(.values(b, version: critic.version)) else { throw CLIError() }
        b.values = v
        b.returns = b.mask.map { 3 * $0 }
        b.advantages = zip(b.returns, v).map { $0 - $1 }
        return b
    }

    private func values(_ critic: CriticLogic, _ b: ExperienceBatch, version: Int) throws -> [Float] {
        guard case .perToken(let v) = try critic.handle(.values(b, version: version)) else { throw CLIError() }
        return v
    }

    func testValues_byAnOlderVersion_useThatVersionsWeights() throws {
        let critic = try CriticLogic(plan: plan(staleness: 2))
        let b = try batch(critic)
        var byVersion = [try values(critic, b, version: 0)]
        for v in 1...3 {
            _ = try critic.handle(.trainValue(b))
            XCTAssertEqual(critic.version, v)
            byVersion.append(try values(critic, b, version: v))
            XCTAssertNotEqual(byVersion[v], byVersion[v - 1], "an update moves the values")
            // The last two older versions are kept, bit for bit, and the current one is untouched.
            for old in max(0, v - 2)..<v {
                XCTAssertEqual(try values(critic, b, version: old), byVersion[old], "version \(old) asked at version \(v)")
            }
            XCTAssertEqual(try values(critic, b, version: v), byVersion[v], "valuing by an older version restores the current weights")
        }
        XCTAssertThrowsError(try values(critic, b, version: 0), "three versions back at staleness 2") { error in
            XCTAssertTrue("\(error)".contains("version 0") && "\(error)".contains("1, 2"), "\(error)")
        }
        XCTAssertThrowsError(try values(critic, b, version: 4), "a version not trained yet")
    }

    /// `CriticRole` holds a request for the next version back until the update that makes it.
    func testCriticRole_holdsARequestForAVersionNotTrainedYet() async throws {
        let p = try plan(staleness: 1)
        let worker = try await RoleWorker.start(name: "critic-test", context: .current) { try CriticLogic(plan: p) }
        let role = CriticRole(worker: worker)
        guard case .success(.perToken(let v0)) = await role.handle(.values(
            ExperienceBatch(prompts: [[5, 6, 7], [8, 9]], responses: [[10, 11], [12, 13, 14]], padID: 3), version: 0)) else {
            return XCTFail("values by version 0")
        }
        var b = ExperienceBatch(prompts: [[5, 6, 7], [8, 9]], responses: [[10, 11], [12, 13, 14]], padID: 3)
        b.values = v0
        b.returns = b.mask.map { 3 * $0 }
        let early = Task { await role.handle(.values(b, version: 1)) }
        try await waitUntil("values by version 1 to be held back") { await role.waitingRequests == 1 }
        guard case .success = await role.handle(.trainValue(b)) else { return XCTFail("train_value") }
        guard case .success(.perToken(let v1)) = await early.value else { return XCTFail("values by version 1 were not served") }
        guard case .success(.perToken(let again)) = await role.handle(.values(b, version: 1)) else { return XCTFail("values by version 1") }
        XCTAssertEqual(v1, again)
        XCTAssertNotEqual(v1, v0)
        await role.stop()
    }
}

private struct CLIError: Error {}
