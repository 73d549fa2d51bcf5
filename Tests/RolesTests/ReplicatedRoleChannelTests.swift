import Roles
import Training
import XCTest

/// A scoring request over replicas: each replica gets a contiguous, even part of the rows, and
/// the answers come back joined in row order.
final class ReplicatedRoleChannelTests: XCTestCase {
    /// Answers each row with its first prompt token (scores) or its response tokens (per token),
    /// and remembers which rows it saw.
    actor Replica: RoleChannel {
        nonisolated let role = RoleName.reference
        private(set) var seen: [[Int32]] = []

        func call(_ request: RoleRequest) async throws -> RoleReply {
            switch request {
            case .referenceLogProbs(let b):
                seen.append((0..<b.B).map { b.prompt($0)[0] })
                return .perToken(b.responses.map(Float.init))
            case .score(let b, let texts):
                seen.append((0..<b.B).map { b.prompt($0)[0] })
                XCTAssertEqual(texts, (0..<b.B).map { "row \(b.prompt($0)[0])" })
                return .scores((0..<b.B).map { Float(b.prompt($0)[0]) })
            default:
                return .done
            }
        }
    }

    func testRowsAreSpreadEvenlyAndJoinedInOrder() async throws {
        let rows = 7
        let batch = ExperienceBatch(prompts: (0..<rows).map { [Int32($0), 99] }, responses: (0..<rows).map { [Int32(100 + $0), 5] },
                                    padID: 3)
        let replicas = [Replica(), Replica(), Replica()]
        let channel = ReplicatedRoleChannel(role: .reference, replicas: replicas)
        guard case .scores(let scores) = try await channel.call(.score(batch, texts: (0..<rows).map { "row \($0)" })) else {
            return XCTFail("scores")
        }
        XCTAssertEqual(scores, (0..<rows).map(Float.init))
        guard case .perToken(let values) = try await channel.call(.referenceLogProbs(batch)) else { return XCTFail("per token") }
        XCTAssertEqual(values, batch.responses.map(Float.init))
        var parts: [[Int32]] = []
        for r in replicas { parts += await r.seen }
        XCTAssertEqual(parts.sorted { $0[0] < $1[0] }, [[0, 1], [0, 1], [2, 3], [2, 3], [4, 5, 6], [4, 5, 6]].sorted { $0[0] < $1[0] },
                       "each replica answers a contiguous third of the rows")
        let first = await replicas[0].seen, last = await replicas[2].seen
        XCTAssertEqual(first, [[0, 1], [0, 1]])
        XCTAssertEqual(last, [[4, 5, 6], [4, 5, 6]])
    }
}
