import Foundation
import Synchronization

/// What `body` returned, or `ifLate` when it had not returned within `limit`: a test of
/// something that may hang fails instead of hanging (awaiting a task that never ends cannot be
/// cancelled, so the body runs as an unstructured task, left behind when late).
func outcome(within limit: Duration, ifLate: String, _ body: @escaping @Sendable () async -> String) async -> String {
    let result = Mutex<String?>(nil)
    Task { let r = await body(); result.withLock { $0 = r } }
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let r = result.withLock({ $0 }) { return r }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return ifLate
}
