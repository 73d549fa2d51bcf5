import Training

/// The experience buffer: joins each generated batch with what the reference, the reward and the
/// critic said of it (by batch id, in whatever order the answers come), computes the KL-shaped
/// rewards, advantages and returns, and serves complete batches to the trainers in batch order.
///
/// It holds at most `capacity` complete batches: a producer that would add one more waits
/// (back-pressure), so generation never runs further ahead than the pipeline allows.
public actor ExperienceBuffer {
    /// A result about a generated batch.
    public enum Part: Sendable {
        case referenceLogProbs([Float])
        case scores([Float])
        case values([Float])
    }

    private struct Pending {
        var batch: ExperienceBatch
        var reference: [Float]?
        var scores: [Float]?
        var values: [Float]?
        var klCoef: Double
    }

    public let config: RLAlgorithmConfig
    public let capacity: Int
    private var pending: [UInt64: Pending] = [:]
    private var ready: [UInt64: ExperienceBatch] = [:]
    private var nextToServe: UInt64
    private var spaceWaiters: [CheckedContinuation<Void, Never>] = []
    private var batchWaiters: [UInt64: CheckedContinuation<ExperienceBatch, any Error>] = [:]
    /// Why no more batches will come (a role failed while producing one).
    private var failure: (any Error)?

    /// - Parameters:
    ///   - config: the algorithm (which parts a batch needs, how advantages are computed).
    ///   - capacity: complete batches held before producers wait.
    ///   - firstBatch: the id of the first batch to serve (after a resume, the next one).
    public init(config: RLAlgorithmConfig, capacity: Int, firstBatch: UInt64) {
        self.config = config
        self.capacity = max(1, capacity)
        self.nextToServe = firstBatch
    }

    /// Registers a generated batch; its parts follow. `klCoef` is β when it was generated.
    public func add(_ batch: ExperienceBatch, klCoef: Double) throws {
        guard pending[batch.batchID] == nil, ready[batch.batchID] == nil else {
            throw RoleError(.badInput, "buffer: batch \(batch.batchID) was added twice")
        }
        pending[batch.batchID] = Pending(batch: batch, klCoef: klCoef)
    }

    /// Attaches one part to its batch; the batch completes when every part it needs is there,
    /// then waits for room (back-pressure) before it is stored.
    public func attach(_ part: Part, to batchID: UInt64) async throws {
        guard var p = pending[batchID] else { throw RoleError(.badInput, "buffer: a result for unknown batch \(batchID)") }
        let B = p.batch.B, R = p.batch.responseWidth
        switch part {
        case .referenceLogProbs(let v):
            guard v.count == B * R else { throw RoleError(.badInput, "buffer: reference gave \(v.count) log-probabilities for a \(B) x \(R) batch") }
            p.reference = v
        case .scores(let v):
            guard v.count == B else { throw RoleError(.badInput, "buffer: reward gave \(v.count) scores for \(B) responses") }
            guard v.allSatisfy(\.isFinite) else { throw RoleError(.badInput, "buffer: reward gave a score that is not a finite number") }
            p.scores = v
        case .values(let v):
            guard v.count == B * R else { throw RoleError(.badInput, "buffer: critic gave \(v.count) values for a \(B) x \(R) batch") }
            p.values = v
        }
        pending[batchID] = p
        guard let reference = p.reference, let scores = p.scores, p.values != nil || !config.usesCritic else { return }
        pending[batchID] = nil
        var batch = p.batch
        batch.refLogProbs = reference
        batch.scores = scores
        if let values = p.values { batch.values = values }
        batch.computeAdvantages(config: config, klCoef: p.klCoef)
        while ready.count >= capacity {
            // After `fail` nobody takes batches any more: waiting for room would be forever.
            if let failure { throw failure }
            await withCheckedContinuation { spaceWaiters.append($0) }
        }
        if let waiter = batchWaiters.removeValue(forKey: batchID) {
            nextToServe = batchID + 1
            waiter.resume(returning: batch)
        } else {
            ready[batchID] = batch
        }
    }

    /// The next batch in order, waiting until it is complete.
    /// - Throws: the error `fail` reported, once no complete batch is left to serve.
    public func take() async throws -> ExperienceBatch {
        let id = nextToServe
        if ready[id] == nil, let failure { throw failure }
        if let batch = ready.removeValue(forKey: id) {
            nextToServe = id + 1
            if !spaceWaiters.isEmpty { spaceWaiters.removeFirst().resume() }
            return batch
        }
        return try await withCheckedThrowingContinuation { batchWaiters[id] = $0 }
    }

    /// No more batches will come: wakes the trainers' wait with `error`.
    public func fail(_ error: any Error) {
        failure = error
        for (_, waiter) in batchWaiters { waiter.resume(throwing: error) }
        batchWaiters.removeAll()
        for waiter in spaceWaiters { waiter.resume() }
        spaceWaiters.removeAll()
    }

    /// Complete batches waiting for the trainers.
    public var readyCount: Int { ready.count }
    /// Producers waiting for room (back-pressure) with a complete batch.
    public var producersWaiting: Int { spaceWaiters.count }
    /// Trainers waiting for their next batch.
    public var trainersWaiting: Int { batchWaiters.count }
}
