import Foundation
import Training

/// Where step 3's checkpoints live in a run directory. Requests name an iteration (or the final
/// model), never a path: each role derives its directories from its own run directory, so a peer
/// cannot make a role write or read anywhere else.
///
/// A checkpoint is staged in `.checkpoint-N.tmp-staged/` (the coordinator creates it, each role
/// writes its part into `ROLE/` there, the coordinator adds its state and renames the whole
/// into `checkpoint-N/`); the final actor is staged in `.final.tmp-staged/`. A role refuses to
/// save when no such staging directory is open, and `RunDirectory.removeInterruptedSaves`
/// removes what a kill left behind.
///
/// A trainer on another host than the coordinator's shares no directory with it: it writes its
/// part on its own host, `checkpoint-N/ROLE/` (or `final/`) staged beside it and renamed into
/// place, and the coordinator's `coordinator_state.json` names the host that holds it
/// (`savesAlone`).
public struct CheckpointLayout: Sendable {
    public let runDirectory: String
    /// This role's saves are its own (another host than the coordinator's), not staged by the
    /// coordinator.
    public let savesAlone: Bool

    public init(runDirectory: String, savesAlone: Bool = false) {
        self.runDirectory = runDirectory
        self.savesAlone = savesAlone
    }

    /// Writes `role`'s part of `target` with `body`: into the coordinator's staging directory
    /// (`stagedPart`), or, saving alone, into its own staging directory renamed into place.
    public func writePart(_ target: SaveTarget, role: RoleName, _ body: (String) throws -> Void) throws {
        guard savesAlone else {
            try body(try stagedPart(target, role: role))
            return
        }
        if case .checkpoint(let i) = target, i < 0 {
            throw RoleError(.badInput, "\(role.rawValue): save of checkpoint \(i): an iteration is never negative")
        }
        if target == .final, role != .actor {
            throw RoleError(.badInput, "\(role.rawValue): only the actor saves the final model")
        }
        switch target {
        case .checkpoint(let i):
            let parent = checkpoint(iteration: i)
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            try RunDirectory(path: parent).writeAtomically((parent as NSString).appendingPathComponent(role.rawValue), body)
        case .final:
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            try RunDirectory(path: runDirectory).writeAtomically(final, body)
        }
    }

    /// `checkpoint-N/`.
    public func checkpoint(iteration: Int) -> String { path("checkpoint-\(iteration)") }

    /// `final/`.
    public var final: String { path("final") }

    /// Where a save of `target` is staged before it is renamed into place.
    public func staging(_ target: SaveTarget) -> String {
        switch target {
        case .checkpoint(let i): path(".checkpoint-\(i).tmp-staged")
        case .final: path(".final.tmp-staged")
        }
    }

    /// Where the directory a save of `target` makes ends up.
    public func destination(_ target: SaveTarget) -> String {
        switch target {
        case .checkpoint(let i): checkpoint(iteration: i)
        case .final: final
        }
    }

    /// Where `role` writes its part of `target`: `ROLE/` in a checkpoint, the whole staging
    /// directory for the final actor.
    /// - Throws: when no save of `target` is open (its staging directory does not exist), or the
    ///   role has no part in it.
    public func stagedPart(_ target: SaveTarget, role: RoleName) throws -> String {
        if case .checkpoint(let i) = target, i < 0 {
            throw RoleError(.badInput, "\(role.rawValue): save of checkpoint \(i): an iteration is never negative")
        }
        if target == .final, role != .actor {
            throw RoleError(.badInput, "\(role.rawValue): only the actor saves the final model")
        }
        let staging = staging(target)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: staging, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RoleError(.badInput, "\(role.rawValue): no save of \(describe(target)) is open in \(runDirectory) (\((staging as NSString).lastPathComponent) does not exist); only the run's coordinator starts a save")
        }
        switch target {
        case .checkpoint: return (staging as NSString).appendingPathComponent(role.rawValue)
        case .final: return staging
        }
    }

    /// `checkpoint-N/ROLE/`, which must exist.
    public func savedPart(iteration: Int, role: RoleName) throws -> String {
        guard iteration >= 0 else { throw RoleError(.badInput, "\(role.rawValue): restore of checkpoint \(iteration): an iteration is never negative") }
        let dir = (checkpoint(iteration: iteration) as NSString).appendingPathComponent(role.rawValue)
        guard FileManager.default.fileExists(atPath: dir) else {
            throw RoleError(.checkpoint, "\(role.rawValue): \(dir) does not exist: the run has no checkpoint of iteration \(iteration) with a \(role.rawValue) part")
        }
        return dir
    }

    /// Stages a save of `target` (a fresh, empty staging directory), lets `body` fill it, and
    /// renames it into place whole.
    public func save(_ target: SaveTarget, _ body: (String) async throws -> Void) async throws {
        try await RunDirectory(path: runDirectory).writeAtomically(destination(target), staging: staging(target), body)
    }

    private func describe(_ target: SaveTarget) -> String {
        switch target {
        case .checkpoint(let i): "checkpoint \(i)"
        case .final: "the final model"
        }
    }

    private func path(_ name: String) -> String { (runDirectory as NSString).appendingPathComponent(name) }
}
