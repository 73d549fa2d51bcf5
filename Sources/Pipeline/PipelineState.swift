import Foundation

/// `pipeline_state.json` in the output root: which steps finished, when, in how long, and with
/// which settings. Written atomically (a temporary file renamed over the old one) when a step
/// starts and when it ends, so an interrupted pipeline leaves the state of its last whole write.
public struct PipelineState: Codable, Sendable, Equatable {
    public static let fileName = "pipeline_state.json"

    /// One step's record.
    public struct Step: Codable, Sendable, Equatable {
        /// `running` from its start until `done` at its end; `running` after an interruption.
        public var status: Status
        /// When it last started and finished (ISO 8601).
        public var started: String
        public var finished: String?
        /// Its wall time in seconds, once done.
        public var seconds: Double?
        /// A hash of its command and the contents of the files it was configured by (recipe,
        /// config, topology): a rerun says when they changed since.
        public var fingerprint: String

        public enum Status: String, Codable, Sendable { case running, done }
    }

    /// The pipeline file of the last run.
    public var pipeline: String
    public var steps: [String: Step]

    public init(pipeline: String, steps: [String: Step] = [:]) {
        self.pipeline = pipeline
        self.steps = steps
    }

    public subscript(step: PipelineStepName) -> Step? {
        get { steps[step.rawValue] }
        set { steps[step.rawValue] = newValue }
    }

    /// The state saved in `path`, or an empty one when there is none.
    /// - Throws: when the file exists but is not a pipeline state.
    public static func read(_ path: String, pipeline: String) throws -> PipelineState {
        guard FileManager.default.fileExists(atPath: path) else { return PipelineState(pipeline: pipeline) }
        do {
            return try JSONDecoder().decode(PipelineState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw PipelineError("\(path): not a pipeline state (\(error)); remove it to start the pipeline afresh")
        }
    }

    /// Writes to `path` through a temporary file and a rename.
    public func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}

/// A pipeline step that cannot run or failed.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// FNV-1a, 64 bits, as hex: enough to notice a changed recipe, not a security hash.
func fingerprint(_ parts: [String]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for part in parts {
        for byte in part.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0xff) &* 0x100_0000_01b3
    }
    return String(hash, radix: 16)
}
