import Foundation

/// A run's output directory and the `checkpoint-N` directories in it.
public struct RunDirectory: Sendable {
    public let path: String

    /// - Parameter path: the output directory.
    public init(path: String) { self.path = path }

    /// The directory of the checkpoint at `step`.
    public func checkpointPath(step: Int) -> String {
        (path as NSString).appendingPathComponent("checkpoint-\(step)")
    }

    /// Complete checkpoints (those with a `trainer_state.json`), oldest first.
    public func checkpoints() -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint-"), let step = Int(name.dropFirst("checkpoint-".count)) else { return nil }
            let dir = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(TrainerState.fileName)) else { return nil }
            return (step, dir)
        }.sorted { $0.0 < $1.0 }
    }

    /// Fills a fresh temporary directory with `body`, then renames it to `final`, replacing any
    /// directory of that name, so that readers see the old checkpoint or the new one, whole.
    public func writeAtomically(_ final: String, _ body: (String) throws -> Void) throws {
        let tmp = try temporaryDirectory(for: final)
        do {
            try body(tmp)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
        try commit(tmp, as: final)
    }

    /// As `writeAtomically`, for a `body` that awaits (roles in other processes writing their share).
    public func writeAtomically(_ final: String, _ body: (String) async throws -> Void) async throws {
        try await writeAtomically(final, staging: temporaryName(for: final), body)
    }

    /// As the async `writeAtomically`, in a temporary directory the caller names (it must
    /// start with `.NAME.tmp-` so that `removeInterruptedSaves` knows it): other processes fill it
    /// (step 3's roles derive the name themselves, as no request may carry a path).
    public func writeAtomically(_ final: String, staging tmp: String, _ body: (String) async throws -> Void) async throws {
        try freshDirectory(tmp)
        do {
            try await body(tmp)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
        try commit(tmp, as: final)
    }

    /// A fresh, empty `.NAME.tmp-PID` directory beside `final`.
    private func temporaryDirectory(for final: String) throws -> String {
        let tmp = temporaryName(for: final)
        try freshDirectory(tmp)
        return tmp
    }

    private func temporaryName(for final: String) -> String {
        (path as NSString).appendingPathComponent(".\((final as NSString).lastPathComponent).tmp-\(getpid())")
    }

    private func freshDirectory(_ tmp: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: tmp) { try fm.removeItem(atPath: tmp) }
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    /// Renames the filled temporary directory to `final`, moving an older `final` aside first.
    private func commit(_ tmp: String, as final: String) throws {
        let fm = FileManager.default
        let name = (final as NSString).lastPathComponent
        var old: String?
        if fm.fileExists(atPath: final) {
            old = (path as NSString).appendingPathComponent(".\(name).old-\(getpid())")
            if fm.fileExists(atPath: old!) { try fm.removeItem(atPath: old!) }
            guard rename(final, old!) == 0 else { throw renameError(final) }
        }
        guard rename(tmp, final) == 0 else { throw renameError(tmp) }
        if let old { try fm.removeItem(atPath: old) }
    }

    /// Deletes the oldest checkpoints beyond `limit`, never `best` nor the newest (the one a
    /// resume starts from): with a limit of 1 and an older best, two stay, as in transformers.
    /// - Parameter best: the best checkpoint's path; only its last component counts, so a run
    ///   directory that was moved since keeps its best checkpoint too.
    public func rotate(keeping limit: Int, protecting best: String?) throws {
        var all = checkpoints()
        let spared = Set([best.map { ($0 as NSString).lastPathComponent }, all.last.map { ($0.path as NSString).lastPathComponent }].compactMap { $0 })
        var excess = all.count - limit
        while excess > 0, let victim = all.first(where: { !spared.contains(($0.path as NSString).lastPathComponent) }) {
            try FileManager.default.removeItem(atPath: victim.path)
            all.removeAll { $0.path == victim.path }
            excess -= 1
        }
    }

    /// Removes what an interrupted save left behind: `.checkpoint-N.tmp-PID` and `.old-PID`
    /// directories, which never became (or stopped being) a checkpoint.
    public func removeInterruptedSaves() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in names where (name.hasPrefix(".checkpoint-") || name.hasPrefix(".final")) && (name.contains(".tmp-") || name.contains(".old-")) {
            try FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(name))
        }
    }

    /// Removes every checkpoint and the metrics log (starting afresh in the same directory).
    public func removeCheckpoints() throws {
        for c in checkpoints() { try FileManager.default.removeItem(atPath: c.path) }
        let metrics = (path as NSString).appendingPathComponent(MetricsLog.fileName)
        if FileManager.default.fileExists(atPath: metrics) { try FileManager.default.removeItem(atPath: metrics) }
    }

    private func renameError(_ what: String) -> TrainingError {
        TrainingError(.io, path: what, "cannot rename into place: \(String(cString: strerror(errno)))")
    }
}
