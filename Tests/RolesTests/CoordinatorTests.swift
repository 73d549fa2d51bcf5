import Foundation
import Roles
import Tokenization
import Training
import XCTest

/// The coordinator's schedule, driven through in-process fake roles (`RoleChannel`): which
/// versions each request names, in what order things happen, β for each batch, how far
/// generation runs ahead, and how a failing role ends the run. No model, no socket: fast.
final class CoordinatorTests: XCTestCase {
    nonisolated(unsafe) private static var actorModel: String?
    private var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("coordinator-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A directory with only a tokenizer: what the coordinator reads of the actor's model.
    private func modelDirectory() throws -> String {
        if let m = Self.actorModel { return m }
        let m = FileManager.default.temporaryDirectory.appendingPathComponent("coordinator-tokenizer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: m, withIntermediateDirectories: true)
        try TokenizerTrainer(inputFiles: ["\(Self.repo)/data/demo/eval.jsonl"], vocabSize: 400).train(outputDirectory: m)
        Self.actorModel = m
        return m
    }

    private func plan(algorithm: String = "ppo", staleness: Int = 0, iterations: Int = 6, saveEvery: Int = 100,
                      adaptiveKL: Bool = false) throws -> RunPlan {
        var plan = RunPlan(runID: "fake", directory: "\(dir)/run-\(UUID().uuidString)", actorModel: try modelDirectory(), reward: .demoRules,
                           criticModel: algorithm == "ppo" ? "unused" : nil,
                           promptsFile: "\(Self.repo)/data/demo/heldout_prompts.jsonl", endpoints: [:])
        plan.algorithm.algorithm = RLAlgorithmConfig.Algorithm(rawValue: algorithm)!
        plan.algorithm.maxStaleness = staleness
        plan.algorithm.promptsPerIteration = 2
        plan.algorithm.samplesPerPrompt = algorithm == "ppo" ? 1 : 2
        plan.algorithm.adaptiveKL = adaptiveKL
        plan.algorithm.targetKL = 1
        plan.algorithm.klHorizon = 10
        plan.iterations = iterations
        plan.saveEvery = saveEvery
        return plan
    }

    private func run(_ plan: RunPlan, roles: FakeRoles, recorder: Recorder? = nil, resume: Bool = false) async throws -> Coordinator.Summary {
        try await Self.launch(plan, roles: roles, recorder: recorder, resume: resume)
    }

    private static func launch(_ plan: RunPlan, roles: FakeRoles, recorder: Recorder? = nil, resume: Bool = false) async throws -> Coordinator.Summary {
        var channels: [RoleName: any RoleChannel] = [:]
        for role in plan.roles where role != .buffer { channels[role] = FakeChannel(role: role, roles: roles) }
        await roles.setSaveRoot(plan.directory)
        let coordinator = try Coordinator(plan: plan, channels: channels, recorder: recorder) { _ in }
        return try await coordinator.run(resume: resume)
    }

    // MARK: - Tests

    /// Batch i is generated and valued by version max(0, i - s), at every staleness; trainers see
    /// the batches in order; an evaluation names the version just trained.
    func testVersions_namedByEveryRequest_followTheSchedule() async throws {
        for s in 0...3 {
            let roles = FakeRoles()
            var p = try plan(staleness: s, iterations: 7)
            p.evalPromptsFile = "\(Self.repo)/data/demo/heldout_prompts.jsonl"
            p.evalEvery = 3
            p.evalPrompts = 4
            _ = try await run(p, roles: roles)
            let events = await roles.events
            let expected = (0..<7).map { max(0, $0 - s) }
            XCTAssertEqual(events.compactMap { if case .generate(_, let v) = $0 { v } else { nil } }, expected, "staleness \(s)")
            XCTAssertEqual(events.compactMap { if case .values(_, let v) = $0 { v } else { nil } }, expected, "staleness \(s)")
            XCTAssertEqual(events.compactMap { if case .trainPolicy(let b) = $0 { b } else { nil } }, Array(0..<7))
            XCTAssertEqual(events.compactMap { if case .trainValue(let b) = $0 { b } else { nil } }, Array(0..<7))
            XCTAssertEqual(events.compactMap { if case .answer(let v) = $0 { v } else { nil } }, [3, 6, 7],
                           "evaluations after iterations 3, 6 and the last, by the version each made")
            // Batch i's values are asked for only after batch i was generated.
            for i in 0..<7 {
                let generated = try XCTUnwrap(events.firstIndex { if case .generate(UInt64(i), _) = $0 { true } else { false } })
                let valued = try XCTUnwrap(events.firstIndex { if case .values(UInt64(i), _) = $0 { true } else { false } })
                XCTAssertLessThan(generated, valued)
            }
        }
    }

    /// The buffer's back-pressure alone (a fake actor that never waits for weights) keeps
    /// generation within reach of the trainers: the buffer holds s + 1 complete batches and one
    /// more waits for room, so batch i is generated only once batch i - s - 2 was taken, that is
    /// once batch i - s - 3 was trained. (The real actor is stricter: batch i waits for the
    /// version batch i - s - 1 makes.)
    func testBackPressure_boundsHowFarGenerationRunsAhead() async throws {
        for s in [0, 2] {
            let roles = FakeRoles(trainDelay: .milliseconds(20))
            _ = try await run(try plan(algorithm: "grpo", staleness: s, iterations: 8), roles: roles)
            let events = await roles.events
            for i in (s + 3)..<8 {
                let generated = try XCTUnwrap(events.firstIndex { if case .generate(UInt64(i), _) = $0 { true } else { false } })
                let trained = try XCTUnwrap(events.firstIndex { if case .trainedPolicy(i - s - 3) = $0 { true } else { false } })
                XCTAssertLessThan(trained, generated, "staleness \(s): batch \(i) generated before batch \(i - s - 3) was trained")
            }
        }
    }

    /// β of batch i is the adaptive controller's value after the trainers consumed batches up to
    /// i - 1 - s, each fed its batch's mean summed KL and its number of responses
    /// (Docs/algorithms.md), computed here from the formula, not from the controller's code.
    func testAdaptiveKL_isFedAsDocumented() async throws {
        for s in [0, 1] {
            // Slow trainers let the producer run as far ahead as it may: β must still be the
            // schedule's, not the controller's value at the time of generation.
            let roles = FakeRoles(trainDelay: .milliseconds(10))
            let recorder = Recorder()
            let p = try plan(staleness: s, iterations: 6, adaptiveKL: true)
            _ = try await run(p, roles: roles, recorder: recorder)
            let records = await recorder.records
            XCTAssertEqual(records.map(\.batch.iteration), Array(0..<6))
            var beta = p.algorithm.klCoef, expected: [Double] = []
            for i in 0..<6 {
                if i - 1 - s >= 0 {
                    let consumed = records[i - 1 - s].batch
                    let kl = FakeRoles.klPerToken(iteration: i - 1 - s) * Double(consumed.responseTokenCount) / Double(consumed.B)
                    let e = min(max(kl / p.algorithm.targetKL - 1, -0.2), 0.2)
                    beta *= 1 + e * Double(consumed.B) / p.algorithm.klHorizon
                }
                expected.append(beta)
            }
            for (i, r) in records.enumerated() {
                XCTAssertEqual(r.klCoef, expected[i], accuracy: 1e-12 * expected[i], "staleness \(s), batch \(i): recorded β")
                // The β the buffer applied: kl_rewards_j = -β (log π_old - log π_ref)_j.
                let applied = -Double(r.batch.klRewards[0]) / FakeRoles.klPerToken(iteration: i)
                XCTAssertEqual(applied, expected[i], accuracy: 1e-6 * expected[i], "staleness \(s), batch \(i): β in the rewards")
            }
            XCTAssertNotEqual(expected.last, p.algorithm.klCoef, "the KL moved β")
        }
    }

    /// Checkpoints: after batch N - 1 trained, the actor and critic save `checkpoint-N` (by
    /// iteration, never a path), the state is written, the directory renamed into place; at the
    /// end the actor saves the final model. A resume restores by iteration.
    func testCheckpoints_nameIterationsAndLandWhole() async throws {
        let roles = FakeRoles()
        var p = try plan(iterations: 4, saveEvery: 2)
        _ = try await run(p, roles: roles)
        let saves = await roles.events.compactMap { if case .save(let role, let target) = $0 { "\(role) \(target)" } else { nil } }
        XCTAssertEqual(saves, ["actor checkpoint(iteration: 2)", "critic checkpoint(iteration: 2)",
                               "actor checkpoint(iteration: 4)", "critic checkpoint(iteration: 4)", "actor final"])
        for n in [2, 4] {
            let state = try CheckpointState.read(from: "\(p.directory)/checkpoint-\(n)")
            XCTAssertEqual(state.iteration, n)
            XCTAssertEqual(state.policyVersion, n)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(p.directory)/checkpoint-\(n)/actor/written"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(p.directory)/checkpoint-\(n)/critic/written"))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(p.directory)/final/written"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: p.directory).filter { $0.hasPrefix(".") }, [],
                       "no staging directory is left")

        p.iterations = 6
        let resumed = FakeRoles(startVersion: 4)
        _ = try await run(p, roles: resumed, resume: true)
        let events = await resumed.events
        XCTAssertEqual(events.compactMap { if case .restore(let role, let i) = $0 { "\(role) \(i)" } else { nil } }, ["actor 4", "critic 4"])
        XCTAssertEqual(events.compactMap { if case .generate(let b, let v) = $0 { "\(b)@\(v)" } else { nil } }, ["4@4", "5@5"])
    }

    /// A role that fails ends the run with its error, whether the failure comes while the
    /// producer generates, scores, or waits for room in the buffer, and never hangs.
    func testFailingRoles_endTheRunNamingThem() async throws {
        let cases: [(FakeRoles, String)] = [
            (FakeRoles(failing: .reward, atBatch: 3), "reward"),
            (FakeRoles(failing: .actor, atBatch: 2), "actor"),
            // The trainer fails while the producer, far ahead at staleness 3, waits for room.
            (FakeRoles(failing: .critic, atBatch: 1, trainDelay: .milliseconds(30)), "critic"),
        ]
        for (roles, name) in cases {
            let p = try plan(staleness: 3, iterations: 10)
            let result = await outcome(within: .seconds(60), ifLate: "still running after 60 s") {
                do {
                    _ = try await Self.launch(p, roles: roles)
                    return "finished"
                } catch {
                    return (error as? RoleError)?.message ?? "\(error)"
                }
            }
            XCTAssertTrue(result.contains("fake \(name) failed"), "\(name): \(result)")
        }
    }
}

// MARK: - Fakes

/// What the fake roles saw, in the order they saw it.
enum FakeEvent: Sendable, Equatable {
    case generate(UInt64, version: Int)
    case values(UInt64, version: Int)
    case trainPolicy(Int)
    case trainedPolicy(Int)
    case trainValue(Int)
    case answer(version: Int)
    case save(RoleName, SaveTarget)
    case restore(RoleName, Int)
}

/// Every role of a run, in memory: answers at once (or after `trainDelay` for the trainers)
/// with figures that depend on the batch only, records each request, and fails the request of
/// `failing` on batch `atBatch` when asked.
actor FakeRoles {
    private(set) var events: [FakeEvent] = []
    private var policyVersion: Int
    private let failing: RoleName?
    private let atBatch: Int
    private let trainDelay: Duration

    init(failing: RoleName? = nil, atBatch: Int = 0, trainDelay: Duration = .zero, startVersion: Int = 0) {
        self.failing = failing
        self.atBatch = atBatch
        self.trainDelay = trainDelay
        policyVersion = startVersion
    }

    /// The per-token KL between the old policy and the reference in batch `iteration`.
    static func klPerToken(iteration: Int) -> Double { 0.5 + 0.25 * Double(iteration % 4) }

    private func fail(_ role: RoleName, _ batch: Int) throws {
        if role == failing, batch == atBatch { throw RoleError(.failed, "fake \(role.rawValue) failed on batch \(batch)") }
    }

    func handle(_ request: RoleRequest, as role: RoleName) async throws -> RoleReply {
        switch request {
        case .generate(let r):
            events.append(.generate(r.batchID, version: r.policyVersion))
            try fail(.actor, Int(r.batchID))
            let rows = r.prompts.flatMap { Array(repeating: $0, count: r.samplesPerPrompt) }
            let responses = rows.indices.map { b in (0...(b % 3)).map { Int32(10 + $0 + b) } }
            var batch = ExperienceBatch(prompts: rows, responses: responses, padID: 3, batchID: r.batchID, iteration: r.iteration,
                                        policyVersion: r.policyVersion, groupSize: r.samplesPerPrompt)
            batch.logProbs = batch.mask.map { -$0 }
            batch.behaviourLogProbs = batch.logProbs
            batch.ended = Array(repeating: 1, count: batch.B)
            return .experiences(batch)
        case .referenceLogProbs(let b):
            try fail(.reference, b.iteration)
            let d = Float(Self.klPerToken(iteration: Int(b.batchID)))
            return .perToken(zip(b.logProbs, b.mask).map { $0 - d * $1 })
        case .score(let b, _):
            try fail(.reward, Int(b.batchID))
            return .scores((0..<b.B).map { Float($0 % 2) })
        case .values(let b, let version):
            events.append(.values(b.batchID, version: version))
            return .perToken(Array(repeating: 0.1, count: b.B * b.responseWidth))
        case .trainPolicy(let b):
            events.append(.trainPolicy(b.iteration))
            try await Task.sleep(for: trainDelay)
            try fail(.actor, b.iteration + 1000)
            policyVersion += 1
            events.append(.trainedPolicy(b.iteration))
            return .trained(metrics: ["policy_loss": 0], version: policyVersion, digests: [])
        case .trainValue(let b):
            events.append(.trainValue(b.iteration))
            try await Task.sleep(for: trainDelay)
            try fail(.critic, b.iteration)
            return .trained(metrics: ["value_loss": 0], version: b.iteration + 1, digests: [])
        case .answer(let prompts, _, let version):
            events.append(.answer(version: version))
            return .responses(prompts.map { _ in [10] })
        case .save(let target):
            events.append(.save(role, target))
            let part = try CheckpointLayout(runDirectory: saveRoot).stagedPart(target, role: role)
            try FileManager.default.createDirectory(atPath: part, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(part)/written", contents: Data())
            return .done
        case .restore(let iteration):
            events.append(.restore(role, iteration))
            return .done
        case .sample, .policyLogProbs, .weights, .finish, .keepAlive:
            throw RoleError(.badInput, "the fake roles have no generator role")
        }
    }

    /// Where saves go: set by the channel from its plan.
    var saveRoot = ""
    func setSaveRoot(_ root: String) { saveRoot = root }
}

struct FakeChannel: RoleChannel {
    let role: RoleName
    let roles: FakeRoles

    func call(_ request: RoleRequest) async throws -> RoleReply {
        try await roles.handle(request, as: role)
    }
}

/// Collects the records the coordinator hands its recorder.
actor Recorder: ExperienceRecorder {
    private(set) var records: [ExperienceRecord] = []
    func start(at iteration: Int) async throws {}
    func record(_ record: ExperienceRecord) async throws { records.append(record) }
    func checkpointed(iteration: Int) async throws {}
}
