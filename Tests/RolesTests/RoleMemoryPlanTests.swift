import Foundation
import Model
import Roles
import Training
import TestSupport
import XCTest

/// The memory plan counts what each role holds, and a topology that does not fit is refused
/// before anything starts, with each role's figures.
final class RoleMemoryPlanTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "memory-plan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private func plan() throws -> RunPlan {
        let c = LlamaConfig(vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 2, numAttentionHeads: 2,
                            numKeyValueHeads: 1, maxPositionEmbeddings: 64)
        let lm = Llama(config: c)
        try lm.save(directory: "\(dir!)/actor")
        try lm.makeRewardModel(padTokenID: 3, seed: 8, std: 0.5).save(directory: "\(dir!)/rm")
        var plan = RunPlan(runID: "memory", directory: "\(dir!)/run", actorModel: "\(dir!)/actor", reward: .model(path: "\(dir!)/rm"),
                           criticModel: "\(dir!)/rm", promptsFile: "unused", endpoints: [:])
        plan.algorithm.promptsPerIteration = 4
        plan.algorithm.samplesPerPrompt = 2
        plan.algorithm.maxPromptLength = 10
        plan.algorithm.maxNewTokens = 6
        plan.algorithm.miniBatchSize = 4
        return plan
    }

    func testPlan_countsEachRolesTensors() throws {
        let plan = try plan()
        let weights = 4 * Llama(config: try LlamaConfig.load(contentsOf: "\(dir!)/actor/config.json")).layout.count
        let actor = try RoleMemoryPlan.of(.actor, in: plan)
        XCTAssertEqual(actor.shares.first { $0.what == "weights" }?.bytes, weights)
        XCTAssertEqual(actor.shares.first { $0.what == "optimizer moments" }?.bytes, 2 * weights)
        XCTAssertNotNil(actor.shares.first { $0.what == "KV cache and decoding workspace" }, "the actor generates: no generator role")
        // 16 rows of up to 16 positions: one padded length of 16.
        let c = try LlamaConfig.load(contentsOf: "\(dir!)/actor/config.json")
        XCTAssertEqual(actor.shares.first { $0.what == "activations of a mini-batch" }?.bytes,
                       TrainingActivations.bytes(config: c, B: 4, T: 16, withLogits: false, forScoring: false, threads: 1))
        let reference = try RoleMemoryPlan.of(.reference, in: plan)
        XCTAssertEqual(reference.shares.map(\.what), ["weights", "scoring chunk"])
        XCTAssertLessThan(reference.tensorBytes, actor.tensorBytes)
        let critic = try RoleMemoryPlan.of(.critic, in: plan)
        XCTAssertEqual(critic.shares.map(\.what), ["weights", "gradients", "optimizer moments", "activations of a mini-batch", "scoring chunk"])
        var rules = plan
        rules.reward = .demoRules
        XCTAssertEqual(try RoleMemoryPlan.of(.reward, in: rules).tensorBytes, 0)
    }

    func testCheck_refusesWhatDoesNotFit_namingEveryRole() throws {
        let plan = try plan()
        let processes: [(role: RoleName, count: Int)] = [(.actor, 1), (.reference, 2), (.reward, 1), (.critic, 1), (.buffer, 1)]
        let plans = try RoleMemoryPlan.check(plan, processes: processes, oneProcess: false, host: "a", availableBytes: 1 << 40)
        let need = plans.enumerated().reduce(6 * RoleMemoryPlan.processBaselineBytes) { $0 + $1.element.tensorBytes * processes[$1.offset].count }
        XCTAssertNoThrow(try RoleMemoryPlan.check(plan, processes: processes, oneProcess: false, host: "a", availableBytes: need))
        XCTAssertThrowsError(try RoleMemoryPlan.check(plan, processes: processes, oneProcess: false, host: "a", availableBytes: need - 1)) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("host a"), text)
            XCTAssertTrue(text.contains("6 process(es)"), text)
            XCTAssertTrue(text.contains("2 x reference needs"), text)
            XCTAssertTrue(text.contains("critic needs"), text)
            XCTAssertTrue(text.contains("--skip-memory-check"), text)
        }
        // One process: one runtime, not six.
        XCTAssertNoThrow(try RoleMemoryPlan.check(plan, processes: processes, oneProcess: true, host: "a",
                                                  availableBytes: need - 5 * RoleMemoryPlan.processBaselineBytes))
    }
}
