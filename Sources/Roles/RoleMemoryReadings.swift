import Synchronization

/// The memory figures the roles' replies carry, kept by the coordinator for `metrics.jsonl`:
/// per role, the highest peak resident memory any of its processes reported (replicas: the
/// largest), and what its tensors need (`RoleMemoryPlan`).
public final class RoleMemoryReadings: Sendable {
    public struct Reading: Sendable, Equatable {
        public var peakBytes: Int
        public var tensorBytes: Int?
    }

    private let readings = Mutex<[RoleName: Reading]>([:])

    public init() {}

    func record(_ role: RoleName, peakBytes: Int, tensorBytes: Int?) {
        readings.withLock { all in
            var r = all[role] ?? Reading(peakBytes: 0, tensorBytes: nil)
            r.peakBytes = max(r.peakBytes, peakBytes)
            if let tensorBytes { r.tensorBytes = max(r.tensorBytes ?? 0, tensorBytes) }
            all[role] = r
        }
    }

    /// Every role's figures so far.
    public var all: [RoleName: Reading] { readings.withLock { $0 } }

    /// `memory_<role>_peak_mb`, `memory_<role>_tensors_mb` (MiB) for a metrics line.
    public var metrics: [String: Double] {
        var out: [String: Double] = [:]
        for (role, r) in all {
            out["memory_\(role.rawValue)_peak_mb"] = (Double(r.peakBytes) / 1_048_576 * 10).rounded() / 10
            if let t = r.tensorBytes { out["memory_\(role.rawValue)_tensors_mb"] = (Double(t) / 1_048_576 * 10).rounded() / 10 }
        }
        return out
    }
}
