import Foundation
import Roles
import Tokenization

/// What a replay needs to rebuild a run beside its experiences, kept in the log's directory so
/// the log stands on its own: a copy of the topology file, the directory its relative paths were
/// read from, any `--iterations` override (it sets the learning-rate schedule), and a copy of the
/// actor's tokenizer files (to decode tokens after the models have moved).
public struct RecordedRun: Codable, Sendable, Equatable {
    public static let fileName = "run.json"
    public static let topologyCopy = "topology.yaml"

    /// The topology file the run was launched with (as given).
    public var topologyFile: String
    /// The working directory at launch: relative paths in the topology are relative to it.
    public var workingDirectory: String
    /// `rlhf train ppo --iterations N`, when given.
    public var iterations: Int?

    public init(topologyFile: String, workingDirectory: String, iterations: Int?) {
        self.topologyFile = topologyFile
        self.workingDirectory = workingDirectory
        self.iterations = iterations
    }

    /// Reads `run.json` of the log in `directory`.
    public static func load(from directory: String) throws -> RecordedRun {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReplayError(.notFound, "\(path): missing; the run's settings were not recorded")
        }
        do {
            return try JSONDecoder().decode(RecordedRun.self, from: data)
        } catch {
            throw ReplayError(.damaged, "\(path): not the expected JSON (\(error))")
        }
    }

    /// Writes `run.json`, the topology copy and copies of the actor's tokenizer files into the
    /// log's directory, each atomically.
    public func write(to directory: String, actorModel: String) throws {
        let fm = FileManager.default
        func put(_ data: Data, _ name: String) throws {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw ReplayError(.io, "\(path): cannot write (\(error.localizedDescription))")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try put(try encoder.encode(self), Self.fileName)
        guard let topology = fm.contents(atPath: topologyFile) else {
            throw ReplayError(.io, "\(topologyFile): cannot read the topology file to keep a copy")
        }
        try put(topology, Self.topologyCopy)
        do {
            try TokenizerFiles.copyCompanions(from: actorModel, to: directory)
        } catch {
            throw ReplayError(.io, "\(directory): cannot keep a copy of \(actorModel)'s tokenizer files (\(error))")
        }
    }
}

extension ExperienceLog {
    /// The log of `plan`'s run (`<run>/experiences`), with what a replay needs written beside it.
    public static func forRun(plan: RunPlan, topologyFile: String, iterations: Int? = nil,
                              report: @escaping @Sendable (String) -> Void) throws -> ExperienceLog {
        let directory = (plan.directory as NSString).appendingPathComponent(directoryName)
        let log = try ExperienceLog(directory: directory, report: report)
        let topology = topologyFile.hasPrefix("/") ? topologyFile
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(topologyFile)
        try RecordedRun(topologyFile: topology, workingDirectory: FileManager.default.currentDirectoryPath, iterations: iterations)
            .write(to: directory, actorModel: plan.actorModel)
        return log
    }
}
