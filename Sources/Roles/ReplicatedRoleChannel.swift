import Training

/// A stateless role served by several replicas: a request is cut by rows into one contiguous
/// part per replica, the parts are sent concurrently, and the answers are joined in row order.
///
/// - Scoring (reference, reward): each part keeps the batch's prompt and response widths, so
///   each row's figures are what the whole batch would give it.
/// - Generation (generator): a batch's prompts are cut into parts, each part sampled by one
///   replica from its first row's stream on (`GenerateRequest.firstRow`), whose tokens do not
///   depend on the rows beside them (`Linear.forwardByRows`); the parts are joined into the
///   batch, whose old log-probabilities are then recomputed by the replicas, cut by rows again
///   at the joined batch's widths. So the batch is the one a single generator would make.
///
/// The parts are even (their sizes differ by one row at most): the replicas run the same model
/// on the same kind of machine, so even parts finish together; spreading by measured speed
/// would pay off for unlike machines, which a later version may weigh. A part whose replica is
/// gone for good (it answered no ping and was not restarted, `RoleError.unavailable`) is sent
/// to the next replica instead: every part is a pure function of the request, so who answers
/// it does not change the bits.
public struct ReplicatedRoleChannel: RoleChannel {
    public let role: RoleName
    let replicas: [any RoleChannel]
    /// The run's `share_prompts`: scoring parts are then cut at group boundaries and padded to
    /// the whole batch's packed length, as the replicas pack them.
    let sharePrompts: Bool
    let log: @Sendable (String) -> Void

    /// - Parameter replicas: a channel to each replica, first replica first (at least one).
    /// Every replica up.
    public func awaitStarted() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in replicas { group.addTask { try await replica.awaitStarted() } }
            try await group.waitForAll()
        }
    }

    public init(role: RoleName, replicas: [any RoleChannel], sharePrompts: Bool = true, log: @escaping @Sendable (String) -> Void = { _ in }) {
        precondition(!replicas.isEmpty, "a replicated role has at least one replica")
        self.role = role
        self.replicas = replicas
        self.sharePrompts = sharePrompts
        self.log = log
    }

    public func call(_ request: RoleRequest) async throws -> RoleReply {
        switch request {
        case .referenceLogProbs(let batch):
            return .perToken(try await perToken(batch) { .referenceLogProbs($0) })
        case .policyLogProbs(let batch, let version):
            return .perToken(try await perToken(batch) { .policyLogProbs($0, version: version) })
        case .score(let batch, let texts):
            let share = sharePrompts
            let parts = try await fanOut(batch.B, unit: batch.groupSize) {
                .score(batch.part(rows: Array($0), sharePrompts: share), texts: Array(texts[$0]))
            }
            return .scores(try join(parts, batch: batch, perRow: 1) {
                if case .scores(let v) = $0 { v } else { nil }
            })
        case .generate(let r):
            return .experiences(try await generate(r))
        default:
            return try await replicas[0].call(request)
        }
    }

    /// Per-token figures of `batch`, its rows cut over the replicas at group boundaries and the
    /// batch's widths, and scored at its padded length.
    private func perToken(_ batch: ExperienceBatch, _ request: @escaping @Sendable (ExperienceBatch) -> RoleRequest) async throws -> [Float] {
        let share = sharePrompts
        let parts = try await fanOut(batch.B, unit: batch.groupSize) { request(batch.part(rows: Array($0), sharePrompts: share)) }
        return try join(parts, batch: batch, perRow: batch.responseWidth) {
            if case .perToken(let v) = $0 { v } else { nil }
        }
    }

    /// The batch `r` asks for: its prompts sampled in parts, joined, then its log-probabilities
    /// recomputed in parts.
    private func generate(_ r: GenerateRequest) async throws -> ExperienceBatch {
        let spp = r.samplesPerPrompt
        let parts = try await fanOut(r.prompts.count) { prompts in
            var part = r
            part.prompts = Array(r.prompts[prompts])
            part.firstRow = r.firstRow + prompts.lowerBound * spp
            return .sample(part)
        }
        var rollouts: [RolloutPart] = []
        for (k, (prompts, reply)) in parts.enumerated() {
            guard case .rollout(let part) = reply, part.responses.count == prompts.count * spp else {
                throw RoleError(.badInput, "\(role.rawValue) replica \(k) answered prompts \(prompts.lowerBound)..<\(prompts.upperBound) of batch \(r.batchID) with something other than \(prompts.count * spp) sampled rows")
            }
            rollouts.append(part)
        }
        var batch = try ExperienceBatch(request: r, rollout: RolloutPart.joined(rollouts), from: role.rawValue)
        batch.logProbs = try await perToken(batch) { .policyLogProbs($0, version: r.policyVersion) }
        return batch
    }

    /// Rows `0..<rows` in `replicas.count` contiguous parts cut at multiples of `unit` (empty
    /// parts are not sent).
    private func fanOut(_ rows: Int, unit: Int = 1, _ request: @escaping @Sendable (Range<Int>) -> RoleRequest) async throws -> [(Range<Int>, RoleReply)] {
        let n = replicas.count, units = rows / unit
        let parts = (0..<n).map { k in (k * units / n * unit)..<((k + 1) * units / n * unit) }.filter { !$0.isEmpty }
        return try await withThrowingTaskGroup(of: (Int, RoleReply).self) { group in
            for (k, part) in parts.enumerated() {
                group.addTask { (k, try await send(request(part), from: k)) }
            }
            var replies = [RoleReply?](repeating: nil, count: parts.count)
            for try await (k, reply) in group { replies[k] = reply }
            return zip(parts, replies.map { $0! }).map { ($0, $1) }
        }
    }

    /// Sends a part to replica `k`; when that replica is gone, to the next ones in turn.
    private func send(_ request: RoleRequest, from k: Int) async throws -> RoleReply {
        var lastError: RoleError?
        for step in 0..<replicas.count {
            let replica = (k + step) % replicas.count
            do {
                return try await replicas[replica].call(request)
            } catch let error as RoleError where error.code == .unavailable {
                lastError = error
                if step + 1 < replicas.count {
                    log("\(role.rawValue) replica \(replica) is gone (\(error.message)); replica \((replica + 1) % replicas.count) takes its \(request.kind) part")
                }
            }
        }
        throw lastError!
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
