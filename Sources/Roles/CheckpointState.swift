import Foundation

/// `coordinator_state.json` in a step-3 checkpoint: where the run stands. The actor's and the
/// critic's weights and optimizer states are beside it in `actor/` and `critic/`; a checkpoint
/// directory exists only once all three are written (it is renamed into place whole).
public struct CheckpointState: Codable, Sendable, Equatable {
    public static let fileName = "coordinator_state.json"
    /// Iterations completed: the next one to run.
    public var iteration: Int
    /// The actor's policy version at the checkpoint.
    public var policyVersion: Int
    /// β at the checkpoint (the adaptive controller's state).
    public var klCoef: Double
    /// The run it belongs to.
    public var runID: String
    /// How many versions before `policyVersion` the actor and the critic saved beside their
    /// weights (`history.safetensors`): `max_staleness` at the time, nil in checkpoints written
    /// before versions were kept.
    public var keptVersions: Int?
    /// β of the batches `iteration ... iteration + keptVersions`, already decided when the
    /// checkpoint was written (the KL controller runs `max_staleness` batches ahead).
    public var klCoefs: [Double]?
    /// The parts written on other hosts than the coordinator's (role name to host): there,
    /// `checkpoint-N/ROLE/` beside nothing else. Nil when every part is beside this file.
    public var remoteParts: [String: String]?

    public init(iteration: Int, policyVersion: Int, klCoef: Double, runID: String, keptVersions: Int? = nil, klCoefs: [Double]? = nil) {
        self.iteration = iteration
        self.policyVersion = policyVersion
        self.klCoef = klCoef
        self.runID = runID
        self.keptVersions = keptVersions
        self.klCoefs = klCoefs
    }

    public func write(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: "\(directory)/\(CheckpointState.fileName)"), options: .atomic)
    }

    public static func read(from directory: String) throws -> CheckpointState {
        let path = "\(directory)/\(fileName)"
        do {
            return try JSONDecoder().decode(CheckpointState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw RoleError(.checkpoint, "\(path): not a step-3 checkpoint state (\(error))")
        }
    }

    /// Complete checkpoints of a run directory, oldest first.
    public static func all(in runDirectory: String) -> [(path: String, state: CheckpointState)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return names.compactMap { name -> (String, CheckpointState)? in
            guard name.hasPrefix("checkpoint-"), Int(name.dropFirst("checkpoint-".count)) != nil else { return nil }
            let dir = (runDirectory as NSString).appendingPathComponent(name)
            guard let state = try? read(from: dir) else { return nil }
            return (dir, state)
        }.sorted { $0.1.iteration < $1.1.iteration }
    }

    /// The latest complete checkpoint, if any.
    public static func latest(in runDirectory: String) -> (path: String, state: CheckpointState)? {
        all(in: runDirectory).last
    }
}
