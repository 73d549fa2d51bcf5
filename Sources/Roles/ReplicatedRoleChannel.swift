import Training

/// A stateless scoring role served by several replicas: a batch is cut by rows into one
/// contiguous part per replica, the parts are sent concurrently, and the answers are joined in
/// row order. Each row's figures depend on that row alone (the same weights, the same widths:
/// a part keeps the batch's prompt and response widths), so the answer is the same whatever the
/// number of replicas.
///
/// The parts are even (their sizes differ by one row at most): the replicas run the same model
/// on the same kind of machine, so even parts finish together; spreading by measured speed
/// would pay off for unlike machines, which a later version may weigh.
public struct ReplicatedRoleChannel: RoleChannel {
    public let role: RoleName
    let replicas: [any RoleChannel]

    /// - Parameter replicas: a channel to each replica, first replica first (at least one).
    public init(role: RoleName, replicas: [any RoleChannel]) {
        precondition(!replicas.isEmpty, "a replicated role has at least one replica")
        self.role = role
        self.replicas = replicas
    }

    public func call(_ request: RoleRequest) async throws -> RoleReply {
        switch request {
        case .referenceLogProbs(let batch):
            let parts = try await fanOut(batch.B) { .referenceLogProbs(batch.selecting(rows: Array($0))) }
            return .perToken(try join(parts, batch: batch, perRow: batch.responseWidth) {
                if case .perToken(let v) = $0 { v } else { nil }
            })
        case .score(let batch, let texts):
            let parts = try await fanOut(batch.B) { .score(batch.selecting(rows: Array($0)), texts: Array(texts[$0])) }
            return .scores(try join(parts, batch: batch, perRow: 1) {
                if case .scores(let v) = $0 { v } else { nil }
            })
        default:
            return try await replicas[0].call(request)
        }
    }

    /// Rows `0..<rows` in `replicas.count` contiguous parts (empty parts are not sent).
    private func fanOut(_ rows: Int, _ request: @escaping @Sendable (Range<Int>) -> RoleRequest) async throws -> [(Range<Int>, RoleReply)] {
        let n = replicas.count
        let parts = (0..<n).map { k in (k * rows / n)..<((k + 1) * rows / n) }.filter { !$0.isEmpty }
        return try await withThrowingTaskGroup(of: (Int, RoleReply).self) { group in
            for (k, part) in parts.enumerated() {
                let replica = replicas[k]
                group.addTask { (k, try await replica.call(request(part))) }
            }
            var replies = [RoleReply?](repeating: nil, count: parts.count)
            for try await (k, reply) in group { replies[k] = reply }
            return zip(parts, replies.map { $0! }).map { ($0, $1) }
        }
    }

    /// The parts' values in row order, each part checked to hold `perRow` values per row.
    private func join(_ parts: [(Range<Int>, RoleReply)], batch: ExperienceBatch, perRow: Int,
                      _ values: (RoleReply) -> [Float]?) throws -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(batch.B * perRow)
        for (k, (rows, reply)) in parts.enumerated() {
            guard let v = values(reply), v.count == rows.count * perRow else {
                throw RoleError(.badInput, "\(role.rawValue) replica \(k) answered rows \(rows.lowerBound)..<\(rows.upperBound) of batch \(batch.batchID) with something other than \(rows.count * perRow) values")
            }
            out += v
        }
        return out
    }
}
