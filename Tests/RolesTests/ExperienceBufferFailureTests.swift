import Roles
import TestSupport
import Training
import XCTest

/// After the buffer fails, nothing will take batches any more: a producer waiting for room must
/// get the error instead of waiting forever.
final class ExperienceBufferFailureTests: XCTestCase {
    func testFail_wakesAProducerWaitingForRoom() async throws {
        let buffer = ExperienceBuffer(config: RLAlgorithmConfig(), capacity: 1, firstBatch: 0)
        for id in 0..<2 {
            var b = ExperienceBatch(prompts: [[5, 6]], responses: [[7]], padID: 3, batchID: UInt64(id))
            b.logProbs = [-1]
            try await buffer.add(b, klCoef: 0.1)
            try await buffer.attach(.values([0]), to: UInt64(id))
            try await buffer.attach(.scores([1]), to: UInt64(id))
        }
        try await buffer.attach(.referenceLogProbs([-1]), to: 0)
        // Batch 1 completes while batch 0 fills the only place: its producer waits for room.
        let waiting = Task { try await buffer.attach(.referenceLogProbs([-1]), to: 1) }
        try await waitUntil("the producer to wait for room", timeout: .seconds(10)) { await buffer.producersWaiting == 1 }
        await buffer.fail(RoleError(.failed, "the critic failed"))
        let result = await outcome(within: .seconds(10), ifLate: "still waiting after 10 s") {
            do {
                try await waiting.value
                return "let in"
            } catch {
                return (error as? RoleError)?.message ?? "\(error)"
            }
        }
        XCTAssertEqual(result, "the critic failed", "a producer waiting for room when the buffer failed")
    }
}
