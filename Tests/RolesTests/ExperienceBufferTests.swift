import Roles
import TestSupport
import Training
import XCTest

/// The experience buffer: joins a batch's parts in any order, serves batches in order, holds
/// no more than its capacity (a producer waits), and ends the trainers' wait when a role fails.
final class ExperienceBufferTests: XCTestCase {
    static func batch(_ id: UInt64) -> ExperienceBatch {
        var b = RoleCodecTests.sampleBatch()
        b.batchID = id
        b.groupSize = 1
        return b
    }

    static func parts(_ b: ExperienceBatch) -> [ExperienceBuffer.Part] {
        [.referenceLogProbs(b.refLogProbs), .scores(b.scores), .values(b.values)]
    }

    func testParts_inAnyOrder_completeTheBatch_andBatchesAreServedInOrder() async throws {
        let buffer = ExperienceBuffer(config: RLAlgorithmConfig(), capacity: 4, firstBatch: 0)
        for id in [1, 0] as [UInt64] {
            let b = Self.batch(id)
            try await buffer.add(b, klCoef: 0.1)
            for part in Self.parts(b).reversed() { try await buffer.attach(part, to: id) }
        }
        let first = try await buffer.take(), second = try await buffer.take()
        XCTAssertEqual([first.batchID, second.batchID], [0, 1])
        XCTAssertNotEqual(first.advantages, [Float](repeating: 0, count: first.advantages.count), "advantages were computed")
    }

    func testBadParts_areRefusedWithTheRoleNamed() async throws {
        let buffer = ExperienceBuffer(config: RLAlgorithmConfig(), capacity: 1, firstBatch: 0)
        let b = Self.batch(0)
        try await buffer.add(b, klCoef: 0.1)
        do {
            try await buffer.attach(.scores([1]), to: 0)
            XCTFail("a score count that does not match the batch must be refused")
        } catch let e as RoleError { XCTAssertTrue(e.message.contains("reward gave 1 scores"), e.message) }
        do {
            try await buffer.attach(.scores([.nan, 0, 0]), to: 0)
            XCTFail("a NaN score must be refused")
        } catch let e as RoleError { XCTAssertTrue(e.message.contains("finite"), e.message) }
        do {
            try await buffer.attach(.values([]), to: 9)
            XCTFail("a part for an unknown batch must be refused")
        } catch let e as RoleError { XCTAssertTrue(e.message.contains("unknown batch 9"), e.message) }
        do {
            try await buffer.add(b, klCoef: 0.1)
            XCTFail("a batch added twice must be refused")
        } catch let e as RoleError { XCTAssertTrue(e.message.contains("twice"), e.message) }
    }

    /// With capacity 1, completing a second batch waits until the first is taken.
    func testBackPressure_aProducerWaitsForRoom() async throws {
        let buffer = ExperienceBuffer(config: RLAlgorithmConfig(), capacity: 1, firstBatch: 0)
        for id in [0, 1] as [UInt64] { try await buffer.add(Self.batch(id), klCoef: 0.1) }
        for part in Self.parts(Self.batch(0)) { try await buffer.attach(part, to: 0) }
        let parts = Self.parts(Self.batch(1))
        let second = Task { @Sendable in
            for part in parts { try await buffer.attach(part, to: 1) }
        }
        try await waitUntil("the second batch to wait for room") { await buffer.producersWaiting == 1 }
        let held = await buffer.readyCount
        XCTAssertEqual(held, 1, "the second batch must wait for room")
        _ = try await buffer.take()
        try await second.value
        let next = try await buffer.take()
        XCTAssertEqual(next.batchID, 1)
    }

    func testFail_endsTheTrainersWait() async throws {
        let buffer = ExperienceBuffer(config: RLAlgorithmConfig(), capacity: 1, firstBatch: 0)
        let waiting = Task { try await buffer.take() }
        try await waitUntil("the trainer to wait for a batch") { await buffer.trainersWaiting == 1 }
        await buffer.fail(RoleError(.unavailable, "reward (ipc://x) did not answer score"))
        do {
            _ = try await waiting.value
            XCTFail("the wait must end with the failure")
        } catch let e as RoleError { XCTAssertTrue(e.message.contains("reward"), e.message) }
    }
}
