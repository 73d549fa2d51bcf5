import Dispatch

/// Wall seconds of each phase of each batch (generation, each role's scoring, training), logged
/// with its iteration: where an iteration's time goes, role by role.
actor PhaseTimes {
    private var times: [UInt64: [String: Double]] = [:]
    /// When the coordinator heard that the actor's trainer made each policy version (the
    /// generator may load it from then on).
    private var versionReady: [Int: UInt64] = [:]

    func record(_ batchID: UInt64, _ name: String, since start: UInt64) {
        times[batchID, default: [:]][name] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// A figure of batch `batchID` that is not a time (logged with its iteration under `name`).
    func note(_ batchID: UInt64, _ name: String, _ value: Double) {
        times[batchID, default: [:]][name] = value
    }

    func generatorHolds(version: Int) {
        versionReady[version] = DispatchTime.now().uptimeNanoseconds
        // Only recent versions can still be waited for; an older one missing from the table
        // counts as held from the start of the request, which it was.
        versionReady = versionReady.filter { $0.key >= version - 8 }
    }

    /// `generate_s`, the generation itself, and `generate_wait_s`, the part of the request spent
    /// waiting for the generator to hold `version` (a request for the next batch goes out before
    /// the update that makes its weights, unless `max_staleness` lets it use older ones).
    func recordGeneration(_ batchID: UInt64, version: Int, since start: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        let began = min(now, max(start, versionReady[version] ?? start))
        times[batchID, default: [:]]["generate_wait_s"] = Double(began - start) / 1e9
        times[batchID, default: [:]]["generate_s"] = Double(now - began) / 1e9
    }

    func take(_ batchID: UInt64) -> [String: Double] {
        times.removeValue(forKey: batchID) ?? [:]
    }
}
