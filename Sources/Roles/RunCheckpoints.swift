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
            _ = try await roles[.actor].call(.restore(iteration: iteration))
            if plan.algorithm.usesCritic {
                _ = try await roles[.critic].call(.restore(iteration: iteration))
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
            _ = try await roles[.actor].call(.save(.checkpoint(iteration: iteration)))
            if plan.algorithm.usesCritic {
                _ = try await roles[.critic].call(.save(.checkpoint(iteration: iteration)))
            }
            try CheckpointState(iteration: iteration, policyVersion: policyVersion, klCoef: klCoef, runID: plan.runID,
                                keptVersions: plan.algorithm.maxStaleness, klCoefs: klCoefs).write(to: staging)
        }
        return layout.checkpoint(iteration: iteration)
    }

    /// The final actor in `final/`.
    /// - Returns: its path.
    func saveFinal() async throws -> String {
        try await layout.save(.final) { _ in
            _ = try await roles[.actor].call(.save(.final))
        }
        return layout.final
    }
}
