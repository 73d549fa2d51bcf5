/// Why a run could not start or go on: a model, data or checkpoint that does not fit the recipe,
/// with the file concerned. Equality compares the code only.
public struct TrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of problem.
    public enum Code: String, Sendable {
        /// The model (or tokenizer) does not fit the stage or the data.
        case incompatibleModel
        /// There is no data to train on, or it does not fit the batch size.
        case data
        /// A checkpoint is missing, incomplete or from another run.
        case checkpoint
        /// The output directory holds an earlier run.
        case outputExists
        /// A file could not be read or written.
        case io
    }

    public var code: Code
    /// The file or directory concerned, or empty.
    public var path: String
    public var message: String

    /// - Parameters:
    ///   - code: the kind of problem.
    ///   - path: the file or directory concerned.
    ///   - message: what is wrong and what to do.
    public init(_ code: Code, path: String = "", _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    /// Compares the codes only.
    public static func == (a: TrainingError, b: TrainingError) -> Bool { a.code == b.code }
}
