/// The records a run trains and evaluates on, after reading, data_split, the eval hold-out,
/// mixing and the sample caps, in that order:
///
/// 1. each source is read (format detected per file unless named);
/// 2. `dataSplit`, if set, keeps the share of each source that belongs to `step`;
/// 3. `evalFraction`, if set, holds out that fraction of each source's share (seeded, before
///    mixing, so that a record repeated by mixing can never be in both sets);
/// 4. several sources are mixed by weight (`DatasetMixture`); one source keeps its file order;
/// 5. the eval set is the eval file when given, else the held-out records;
/// 6. `maxTrainSamples` and `maxEvalSamples` keep the first records.
public struct PreparedData: Sendable {
    public var train: [DatasetRecord]
    public var eval: [DatasetRecord]
    /// Bad records left out under `skipBadRecords`.
    public var skipped: [SkippedRecord]
    /// What each file held.
    public var files: [FileSummary]

    /// Reads and prepares the data for one step of the pipeline.
    ///
    /// - Parameters:
    ///   - options: the data options.
    ///   - step: the pipeline step, for `dataSplit`.
    /// - Throws: `DatasetError` for bad options, unreadable data, or an empty training set.
    public init(_ options: DataOptions, step: DataSplit.Step = .sft) throws {
        try options.validate()
        let reader = DatasetReader(format: options.format, skipBadRecords: options.skipBadRecords)
        var trainParts: [[DatasetRecord]] = []
        var heldOut: [DatasetRecord] = []
        skipped = []
        files = []
        for (i, source) in options.sources.enumerated() {
            let read = try reader.read(source.path)
            skipped += read.skipped
            files += read.files
            var records = read.records
            if let split = options.dataSplit { records = split.select(records, for: step, seed: options.seed) }
            if let fraction = options.evalFraction, fraction > 0 {
                let isEval = PreparedData.holdOut(count: records.count, fraction: fraction, seed: options.seed, source: i)
                heldOut += records.indices.filter { isEval[$0] }.map { records[$0] }
                records = records.indices.filter { !isEval[$0] }.map { records[$0] }
            }
            trainParts.append(records)
        }
        train = trainParts.count == 1
            ? trainParts[0]
            : try DatasetMixture.mix(trainParts, weights: options.sources.map(\.weight), total: options.mixtureSize, seed: options.seed)
        if let evalPath = options.evalPath {
            let read = try reader.read(evalPath)
            skipped += read.skipped
            files += read.files
            eval = read.records
        } else {
            eval = heldOut
        }
        if let n = options.maxTrainSamples { train = Array(train.prefix(n)) }
        if let n = options.maxEvalSamples { eval = Array(eval.prefix(n)) }
        guard !train.isEmpty else {
            throw DatasetError(.noRecords, file: options.sources.map(\.path).joined(separator: ", "),
                               expected: "training records for step \(step.rawValue)",
                               got: "none after data_split \(options.dataSplit?.description ?? "-") and the eval hold-out")
        }
    }

    /// Which of `count` records go to evaluation: round(fraction * count) of them, at least one
    /// and never all, chosen by a seeded shuffle.
    static func holdOut(count: Int, fraction: Double, seed: UInt64, source: Int) -> [Bool] {
        guard count >= 2 else { return Array(repeating: false, count: count) }
        let n = min(count - 1, max(1, Int((fraction * Double(count)).rounded())))
        var isEval = Array(repeating: false, count: count)
        for i in SeededPermutation.indices(count: count, seed: seed, purpose: .evalHoldout, index: source).prefix(n) {
            isEval[i] = true
        }
        return isEval
    }

    /// One paragraph for logs: counts, formats and skipped records.
    public var summary: String {
        var lines = ["train records: \(train.count), eval records: \(eval.count)"]
        for file in files {
            let how = file.formatWasNamed ? "named" : "detected"
            lines.append("  \(file.path): \(file.records) records, format \(file.format.map(\.rawValue) ?? "-") (\(how))"
                         + (file.skipped > 0 ? ", \(file.skipped) skipped" : ""))
        }
        if !skipped.isEmpty { lines.append(SkippedRecord.report(skipped)) }
        return lines.joined(separator: "\n")
    }
}
