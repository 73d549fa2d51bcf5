/// A dataset path with its mixing weight, as `--dataset PATH[:WEIGHT]` gives it.
public struct DataSource: Sendable, Codable, Equatable, CustomStringConvertible {
    public var path: String
    /// Relative weight when several sources are mixed (see `DatasetMixture`).
    public var weight: Double

    /// - Parameters:
    ///   - path: a file or directory.
    ///   - weight: the mixing weight.
    public init(path: String, weight: Double = 1) {
        self.path = path
        self.weight = weight
    }

    /// Parses `PATH` or `PATH:WEIGHT` (the weight after the last colon, when it is a number).
    public init(parsing text: String) throws {
        if let colon = text.lastIndex(of: ":"), let weight = Double(text[text.index(after: colon)...]) {
            guard weight >= 0, weight.isFinite else {
                throw DatasetError(.invalidOption, field: "--dataset", expected: "PATH or PATH:WEIGHT with a non-negative weight", got: "'\(text)'")
            }
            self.init(path: String(text[..<colon]), weight: weight)
        } else {
            self.init(path: text)
        }
    }

    public var description: String { weight == 1 ? path : "\(path):\(weight)" }
}

/// Everything that decides which records a run trains and evaluates on; Codable so that a run
/// records it with its config.
public struct DataOptions: Sendable, Codable, Equatable {
    /// The training datasets; several are mixed by weight.
    public var sources: [DataSource]
    /// The format of every file, or nil to detect per file.
    public var format: DatasetFormat?
    /// A separate evaluation file or directory (used whole; `dataSplit` does not apply to it).
    public var evalPath: String?
    /// The fraction of each source held out for evaluation, when there is no eval file.
    public var evalFraction: Double?
    /// DeepSpeed-Chat's data_split ("6,2,2"), applied to each source before anything else.
    public var dataSplit: DataSplit?
    /// Keep only the first N training records (after splitting and mixing), for quick checks.
    public var maxTrainSamples: Int?
    /// Keep only the first N evaluation records.
    public var maxEvalSamples: Int?
    /// How many training records a mixture of several sources has; default: all of theirs.
    public var mixtureSize: Int?
    /// The seed of the split, the hold-out and the mixture. 1234 is DeepSpeed-Chat's default.
    public var seed: UInt64
    /// Skip bad records and report them instead of stopping.
    public var skipBadRecords: Bool

    /// - Parameter sources: the training datasets; every other option starts unset.
    public init(sources: [DataSource], format: DatasetFormat? = nil, evalPath: String? = nil,
                evalFraction: Double? = nil, dataSplit: DataSplit? = nil, maxTrainSamples: Int? = nil,
                maxEvalSamples: Int? = nil, mixtureSize: Int? = nil, seed: UInt64 = 1234, skipBadRecords: Bool = false) {
        self.sources = sources
        self.format = format
        self.evalPath = evalPath
        self.evalFraction = evalFraction
        self.dataSplit = dataSplit
        self.maxTrainSamples = maxTrainSamples
        self.maxEvalSamples = maxEvalSamples
        self.mixtureSize = mixtureSize
        self.seed = seed
        self.skipBadRecords = skipBadRecords
    }

    /// Refuses contradictory or out-of-range options before any file is read.
    public func validate() throws {
        func invalid(_ field: String, _ expected: String, _ got: String) -> DatasetError {
            DatasetError(.invalidOption, field: field, expected: expected, got: got)
        }
        if sources.isEmpty { throw invalid("--dataset", "at least one dataset", "none") }
        if let f = evalFraction, !(f >= 0 && f < 1) { throw invalid("--eval-fraction", "a number in [0, 1)", "\(f)") }
        if evalPath != nil, let f = evalFraction, f > 0 {
            throw invalid("--eval-fraction", "either an eval file or an eval fraction, not both", "both")
        }
        for (name, value) in [("--max-train-samples", maxTrainSamples), ("--max-eval-samples", maxEvalSamples), ("mixture size", mixtureSize)] {
            if let value, value < 1 { throw invalid(name, "a positive number", "\(value)") }
        }
    }
}
