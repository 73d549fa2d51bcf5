import ArgumentParser
import Datasets
import Foundation
import Tokenization

/// `rlhf data`: look at a dataset before training on it.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Look at datasets before training on them.",
        subcommands: [Inspect.self])

    /// `rlhf data inspect PATH`: format, counts, lengths and the first records rendered.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a dataset's detected format, record counts, length statistics and first records rendered with the chat template.")

        @Argument(help: "A .json or .jsonl file, or a directory of them.")
        var path: String

        @Option(help: "The record format, instead of detecting it: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
        var format: String?

        @Option(help: "The chat template: \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")). Default: the one saved in --tokenizer's directory (chat_template.json, else the checkpoint's chat_template.jinja or tokenizer_config.json), else \(ChatTemplate.default.rawValue).")
        var template: String?

        @Option(help: "A model or tokenizer directory holding tokenizer.model or tokenizer.json; lengths are then in tokens, not characters.")
        var tokenizer: String?

        @Option(help: "How many records to render.")
        var count = 3

        @Flag(help: "Skip bad records and list them, instead of stopping at the first.")
        var skipBadRecords = false

        @Option(help: "With --tokenizer: count what training at this sequence length would truncate.")
        var maxLength: Int?

        @Option(help: "The prompt's budget when prompt and response do not fit (default: half of --max-length).")
        var maxPromptLength: Int?

        func run() throws {
            let chatTemplate = try ChatFormat.resolve(name: template, modelDirectory: tokenizer.map(TokenizerFiles.directory(of:)))
            let textTokenizer = try tokenizer.map(TokenizerFiles.load)
            if maxLength != nil && textTokenizer == nil {
                throw ValidationError("--max-length needs --tokenizer: truncation is counted in tokens")
            }
            let inspector = DatasetInspector(
                template: chatTemplate, tokenizer: textTokenizer, exampleCount: max(0, count),
                truncation: try maxLength.map { try TruncationRule(maxLength: $0, maxPromptLength: maxPromptLength) })
            let inspection = try inspector.inspect(path, format: try format.map(DatasetFormat.init(named:)), skipBadRecords: skipBadRecords)
            print(inspection.report)
        }
    }
}
