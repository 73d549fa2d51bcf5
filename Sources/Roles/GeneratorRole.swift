import Dispatch
import Logging
import Training

/// The `generator` role's actor: one replica of the policy's sampler, apart from the trainer.
///
/// Every request names the policy version it must be answered with. A replica holding another
/// version first fetches that one from the actor (`PolicyWeightsSource`), chunk by chunk with a
/// checksum, then loads it on its own thread; so a replica never answers with weights other
/// than the version the schedule names, and a replica started afresh (a restart) fetches what
/// it lacks the first time it is asked. Requests are answered one at a time, in arrival order:
/// a fetch and the generation that needs it never interleave with another request's.
public actor GeneratorRole: RoleHandler {
    let worker: RoleWorker
    let weights: PolicyWeightsSource
    let logger: Logger
    /// The version the worker holds (0: the starting model, loaded from disk).
    private var held = 0
    private var busy = false
    private var queue: [CheckedContinuation<Void, Never>] = []

    public init(worker: RoleWorker, weights: PolicyWeightsSource, logger: Logger) {
        self.worker = worker
        self.weights = weights
        self.logger = logger
    }

    public func handle(_ request: RoleRequest) async -> Result<RoleReply, RoleError> {
        let version: Int
        switch request {
        case .generate(let r), .sample(let r): version = r.policyVersion
        case .policyLogProbs(_, let v): version = v
        default: return await worker.handle(request)  // refused there, naming the kind
        }
        await enter()
        defer { leave() }
        do {
            try await hold(version)
        } catch {
            return .failure(error as? RoleError ?? RoleError(.failed, "generator: \(error)"))
        }
        return await worker.handle(request)
    }

    /// Makes the worker hold `version`, fetching it from the actor unless it already does.
    private func hold(_ version: Int) async throws {
        guard version != held else { return }
        guard version >= 0 else { throw RoleError(.badInput, "generator: policy version \(version) is negative") }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let (update, waited) = try await weights.fetch(version: version)
        let t1 = DispatchTime.now().uptimeNanoseconds
        try await worker.withLogic { logic in
            guard let g = logic as? GeneratorLogic else { throw RoleError(.failed, "generator: the worker holds no generator") }
            try update.verify()
            try g.apply(update)
        }
        held = version
        let megabytes = Double(update.values.count * 4) / 1_048_576
        // The hand-over's own time: the actor holds a request for a version not yet trained.
        let fetch = max(0, Double(t1 - t0) / 1e9 - waited), load = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
        logger.info("generator: policy version \(version): \(String(format: "%.2f", megabytes)) MB fetched in \(String(format: "%.4f", fetch)) s (\(String(format: "%.2f", fetch * 1000 / max(megabytes, 1e-9))) ms/MB) after waiting \(String(format: "%.4f", waited)) s for the update, checked and loaded in \(String(format: "%.4f", load)) s")
    }

    private func enter() async {
        if busy {
            await withCheckedContinuation { queue.append($0) }
        } else {
            busy = true
        }
    }

    /// Hands the turn to the next request waiting (`busy` stays set), or frees it.
    private func leave() {
        if queue.isEmpty {
            busy = false
        } else {
            queue.removeFirst().resume()
        }
    }

    public func stop() async {
        await worker.stop()
    }
}

/// Where a generator replica gets a policy version's weights: the actor, over the role protocol
/// (`weights` requests, one per chunk). Chunks are asked for one after another, so a replica
/// holds at most one chunk in flight; every chunk must agree on the version, size and checksum,
/// and the replica checks the joined block against that checksum before loading it.
public struct PolicyWeightsSource: Sendable {
    let actor: any RoleChannel

    public init(actor: any RoleChannel) {
        self.actor = actor
    }

    /// - Returns: the update, and the seconds the actor held the requests back until the version
    ///   was trained.
    public func fetch(version: Int) async throws -> (WeightsUpdate, waited: Double) {
        var values: [Float] = []
        var waited = 0.0
        var first: WeightsChunk?
        var index = 0
        repeat {
            let chunk = try await actor.call(.weights(version: version, chunk: index), expecting: "weights") {
                if case .weights(let w) = $0 { w } else { nil }
            }
            if first == nil {
                first = chunk
                values.reserveCapacity(chunk.total)
            }
            guard let head = first, chunk.version == version, chunk.index == index, chunk.count == head.count,
                  chunk.total == head.total, chunk.checksum == head.checksum, chunk.adaptersOnly == head.adaptersOnly,
                  values.count + chunk.values.count <= head.total else {
                throw RoleError(.badInput, "actor answered chunk \(index) of policy version \(version)'s weights with a chunk that does not belong to them")
            }
            values += chunk.values
            waited += chunk.waitedSeconds
            index += 1
        } while index < first!.count
        let head = first!
        guard values.count == head.total else {
            throw RoleError(.badInput, "actor sent \(values.count) values of policy version \(version)'s weights in \(head.count) chunks; they hold \(head.total)")
        }
        return (WeightsUpdate(version: version, values: values, adaptersOnly: head.adaptersOnly, checksum: head.checksum), waited)
    }
}
