import Foundation
import Training

/// Step 3's checkpoints as the coordinator sees them: `checkpoint-N/` (the actor's and the
/// critic's parts, which those roles write, and `coordinator_state.json`), the final actor, and
/// the restore of a resumed run. Requests name the iteration, never a path (`CheckpointLayout`).
struct RunCheckpoints: Sendable {
    let plan: RunPlan
    let roles: RoleChannels
    var layout: CheckpointLayout { CheckpointLayout(runDirectory: plan.directory) }

    /// Where a run starts: the iteration and β of the checkpoint resumed, or the beginning.
    struct Start: Sendable {
        var iteration = 0
        var klCoef: Double
        /// The checkpoint resumed, if any.
        var checkpoint: String?
        /// Versions before `iteration` the trainers restored (their `history.safetensors`).
        var keptVersions = 0
        /// β of the first batches, decided before the checkpoint.
        var klCoefs: [Double] = []
    }

    /// Prepares the run directory and, with `resume`, restores the trainers from the latest
    /// complete checkpoint. Refuses a directory with checkpoints when not resuming.
    func prepare(resume: Bool) async throws -> Start {
        try FileManager.default.createDirectory(atPath: plan.directory, withIntermediateDirectories: true)
        try RunDirectory(path: plan.directory).removeInterruptedSaves()
        if resume, let latest = CheckpointState.latest(in: plan.directory) {
            let iteration = latest.state.iteration
            for role in trainers {
                do {
                    _ = try await roles[role].call(.restore(iteration: iteration))
                } catch let error as RoleError {
                    // Say where the part should be: a host without a shared directory keeps its own.
                    guard let host = latest.state.remoteParts?[role.rawValue] else { throw error }
                    throw RoleError(error.code, "\(error.message) (its part of checkpoint-\(iteration) was written on host \(host), in \(layout.checkpoint(iteration: iteration))/\(role.rawValue) there)")
                }
            }
            return Start(iteration: iteration, klCoef: latest.state.klCoef, checkpoint: latest.path,
                         keptVersions: latest.state.keptVersions ?? 0, klCoefs: latest.state.klCoefs ?? [])
        }
        if !CheckpointState.all(in: plan.directory).isEmpty {
            throw RoleError(.checkpoint, "\(plan.directory) holds checkpoints of an earlier run; resume it (--resume) or choose another run directory")
        }
        return Start(klCoef: plan.algorithm.klCoef)
    }

    /// `checkpoint-N/`, staged under a temporary name the roles derive from the iteration and
    /// renamed whole.
    /// - Returns: its path.
    /// - Parameter klCoefs: β of the batches from `iteration` on, already decided.
    func save(iteration: Int, policyVersion: Int, klCoef: Double, klCoefs: [Double]) async throws -> String {
        try await layout.save(.checkpoint(iteration: iteration)) { staging in
            var remote: [String: String] = [:]
            for role in trainers {
                _ = try await roles[role].call(.save(.checkpoint(iteration: iteration)))
                guard plan.savesAlone(role), let host = plan.hosts[role] else { continue }
                remote[role.rawValue] = host
                // Two host names over one shared directory: the part written alone is already
                // here; it goes into the staged checkpoint, not aside with an older one.
                let written = (layout.checkpoint(iteration: iteration) as NSString).appendingPathComponent(role.rawValue)
                if FileManager.default.fileExists(atPath: written) {
                    try FileManager.default.moveItem(atPath: written, toPath: (staging as NSString).appendingPathComponent(role.rawValue))
                }
            }
            var state = CheckpointState(iteration: iteration, policyVersion: policyVersion, klCoef: klCoef, runID: plan.runID,
                                        keptVersions: plan.algorithm.maxStaleness, klCoefs: klCoefs)
            state.remoteParts = remote.isEmpty ? nil : remote
            try state.write(to: staging)
        }
        return layout.checkpoint(iteration: iteration)
    }

    /// The roles with a part in a checkpoint.
    private var trainers: [RoleName] { plan.algorithm.usesCritic ? [.actor, .critic] : [.actor] }

    /// The final actor in `final/`.
    /// - Returns: its path.
    func saveFinal() async throws -> String {
        // An actor on another host writes `final/` there, alone.
        guard !plan.savesAlone(.actor) else {
            _ = try await roles[.actor].call(.save(.final))
            return "\(layout.final) on host \(plan.hosts[.actor] ?? "?")"
        }
        try await layout.save(.final) { _ in
            _ = try await roles[.actor].call(.save(.final))
        }
        return layout.final
    }
}
