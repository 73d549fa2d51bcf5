/// Requests waiting until a role holds weights of some version: the generator for the policy a
/// `generate` names, the critic for the version a `values` names. Owned by one actor, which
/// wakes them when its version changes and fails them when it stops.
struct VersionWaiters {
    private var waiting: [(version: Int, continuation: CheckedContinuation<Void, any Error>)] = []

    /// Suspends until `wake(upTo:)` reaches `version` or `failAll` is called.
    /// (Call from the owning actor: `try await withCheckedThrowingContinuation { waiters.add(v, $0) }`.)
    mutating func add(_ version: Int, _ continuation: CheckedContinuation<Void, any Error>) {
        waiting.append((version, continuation))
    }

    /// Requests waiting.
    var count: Int { waiting.count }

    /// Wakes those waiting for `version` or an older one.
    mutating func wake(upTo version: Int) {
        let ready = waiting.filter { $0.version <= version }
        waiting.removeAll { $0.version <= version }
        for w in ready { w.continuation.resume() }
    }

    /// Wakes everyone with `error`.
    mutating func failAll(_ error: any Error) {
        let all = waiting
        waiting.removeAll()
        for w in all { w.continuation.resume(throwing: error) }
    }
}
