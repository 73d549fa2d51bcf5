/// The critic role's actor: holds back a `values` request that names a version the critic has
/// not trained yet (the previous batch's `train_value` may still be on its way), then hands
/// every request to the critic's worker, whose thread runs them one at a time.
public actor CriticRole: RoleHandler {
    let worker: RoleWorker
    private var version = 0
    private var waiters = VersionWaiters()
    private var stopped = false

    public init(worker: RoleWorker) {
        self.worker = worker
    }

    public func handle(_ request: RoleRequest) async -> Result<RoleReply, RoleError> {
        if case .values(_, let wanted) = request, wanted > version {
            guard !stopped else { return .failure(RoleError(.unavailable, "critic: stopped")) }
            do {
                try await withCheckedThrowingContinuation { waiters.add(wanted, $0) }
            } catch {
                return .failure(RoleError(.unavailable, "critic: stopped while values by version \(wanted) waited"))
            }
        }
        let result = await worker.handle(request)
        if case .success(let reply) = result {
            switch (request, reply) {
            case (.trainValue, .trained(_, let v, _)):
                version = v
            case (.restore, _):
                version = (try? await worker.withLogic { ($0 as? CriticLogic)?.version ?? 0 }) ?? 0
            default:
                break
            }
            waiters.wake(upTo: version)
        }
        return result
    }

    /// `values` requests held back for a version not trained yet.
    public var waitingRequests: Int { waiters.count }

    public func stop() async {
        stopped = true
        waiters.failAll(RoleError(.unavailable, "critic: stopped"))
        await worker.stop()
    }
}
