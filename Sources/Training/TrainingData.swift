import Datasets
import Foundation
import Tokenization

/// One tokenized sequence for causal-LM training: `lossMask[t]` marks token t as a target,
/// predicted from the tokens before it.
public struct TokenSequence: Sendable, Equatable {
    public var ids: [Int]
    public var lossMask: [Bool]

    /// - Parameters:
    ///   - ids: the tokens.
    ///   - lossMask: one flag per token (the first token can never be a target).
    public init(ids: [Int], lossMask: [Bool]) {
        precondition(ids.count == lossMask.count, "one loss flag per token")
        self.ids = ids
        self.lossMask = lossMask
    }

    /// Tokens the loss is computed on.
    public var targetCount: Int { lossMask.dropFirst().reduce(0) { $0 + ($1 ? 1 : 0) } }
}

/// The tokenizer, the chat template and the records of a run, read and split as the recipe says,
/// and the example encodings each stage trains on.
public struct TrainingData {
    public let tokenizer: any TextTokenizer
    public let template: ChatFormat
    /// The tokenizer file read (`tokenizer.model` or `tokenizer.json`); its directory's tokenizer
    /// files are copied next to every saved model.
    public let tokenizerPath: String
    public let records: PreparedData
    public let encoder: ExampleEncoder
    /// Lines for the run's log: counts, formats, truncation, skipped records.
    public private(set) var report: [String]

    /// Reads the tokenizer and the records for `stage`.
    /// - Throws: `RecipeError`, `TokenizerError` or `DatasetError` naming the file at fault.
    public init(recipe r: TrainingRecipe, stage: TrainingStage) throws {
        tokenizerPath = try TrainingData.tokenizerFile(r.tokenizerNameOrPath ?? r.modelNameOrPath)
        tokenizer = try TokenizerFiles.load(tokenizerPath)
        template = try ChatFormat.resolve(name: r.template, modelDirectory: r.modelNameOrPath)
        var options = DataOptions(sources: try r.trainFile.map(DataSource.init(parsing:)))
        options.format = try r.format.map(DatasetFormat.init(named:))
        options.evalPath = r.evalFile
        options.evalFraction = r.evalFraction
        options.dataSplit = try r.dataSplit.map(DataSplit.init(parsing:))
        options.maxTrainSamples = r.maxTrainSamples
        options.maxEvalSamples = r.maxEvalSamples
        options.seed = UInt64(r.dataSeed ?? r.seed)
        options.skipBadRecords = r.skipBadRecords
        let defaultIndex = stage == .rm || stage == .dpo ? 1 : 0
        let step = DataSplit.Step(rawValue: (r.dataSplitIndex ?? defaultIndex) + 1) ?? .sft
        records = try PreparedData(options, step: step)
        let rule = try TruncationRule(maxLength: r.maxSeqLength, maxPromptLength: r.maxPromptLength)
        encoder = ExampleEncoder(template: template, tokenizer: tokenizer, truncation: rule, skipBadRecords: r.skipBadRecords)
        report = [records.summary, "template: \(template.name), tokenizer: \(tokenizerPath) (\(tokenizer.pieceCount) pieces)"]
        if r.dataSplit != nil { report.append("data_split \(r.dataSplit!): share \(step.rawValue - 1) (step \(step.rawValue))") }
    }

    /// The tokenizer file inside a directory (`tokenizer.model`, else `tokenizer.json`), or the
    /// file itself.
    static func tokenizerFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RecipeError(.invalidValue, place: "", key: "tokenizer_name_or_path", "\(path) does not exist")
        }
        guard isDirectory.boolValue else { return path }
        guard let file = TokenizerFiles.file(in: path) else {
            throw RecipeError(.missing, place: "", key: "tokenizer_name_or_path",
                              "no tokenizer.model or tokenizer.json in \(path); name the tokenizer's directory with tokenizer_name_or_path")
        }
        return file
    }

    // MARK: - Examples

    /// Causal-LM sequences. sft: loss on every assistant turn. pt: loss on every token; text
    /// records are documents, other records are rendered with the chat template; with `packing`
    /// everything is concatenated and cut into `maxLength` blocks. Sequences without a target
    /// (a one-token tail) are dropped.
    /// - Parameters:
    ///   - records: the records to encode.
    ///   - stage: `.pt` or `.sft`.
    ///   - packing: pt only.
    ///   - what: "train" or "eval", for the report.
    public mutating func languageModelSequences(_ records: [DatasetRecord], stage: TrainingStage, packing: Bool,
                                                what: String) throws -> [TokenSequence] {
        var sequences: [TokenSequence]
        let allText = records.allSatisfy { if case .text = $0.content { true } else { false } }
        if stage == .pt && allText {
            let encoded = try encoder.textExamples(records, packing: packing)
            note(what, encoded.truncation, encoded.skipped)
            sequences = encoded.examples.map { TokenSequence(ids: $0.ids, lossMask: Array(repeating: true, count: $0.ids.count)) }
        } else {
            let encoded = try encoder.sftExamples(records)
            note(what, encoded.truncation, encoded.skipped)
            sequences = encoded.examples.map {
                TokenSequence(ids: $0.ids, lossMask: stage == .pt ? Array(repeating: true, count: $0.ids.count) : $0.lossMask)
            }
            if stage == .pt && packing { sequences = TrainingData.pack(sequences, length: encoder.truncation.maxLength) }
        }
        return sequences.filter { $0.targetCount > 0 }
    }

    /// Prompt/chosen/rejected examples for rm and dpo.
    public mutating func preferenceExamples(_ records: [DatasetRecord], what: String) throws -> [PreferenceExample] {
        let encoded = try encoder.preferenceExamples(records)
        note(what, encoded.truncation, encoded.skipped)
        return encoded.examples
    }

    /// Concatenates sequences and cuts the stream into `length`-token blocks (the last may be
    /// shorter), every token a target.
    static func pack(_ sequences: [TokenSequence], length: Int) -> [TokenSequence] {
        var blocks: [TokenSequence] = []
        var current: [Int] = []
        current.reserveCapacity(length)
        for s in sequences {
            var rest = s.ids[...]
            while !rest.isEmpty {
                let take = rest.prefix(length - current.count)
                current += take
                rest = rest.dropFirst(take.count)
                if current.count == length {
                    blocks.append(TokenSequence(ids: current, lossMask: Array(repeating: true, count: length)))
                    current.removeAll(keepingCapacity: true)
                }
            }
        }
        if !current.isEmpty { blocks.append(TokenSequence(ids: current, lossMask: Array(repeating: true, count: current.count))) }
        return blocks
    }

    private mutating func note(_ what: String, _ truncation: TruncationReport, _ skipped: [SkippedRecord]) {
        report.append("\(what): \(truncation)")
        if !skipped.isEmpty { report.append(SkippedRecord.report(skipped)) }
    }
}
