import ArgumentParser
import Foundation
import Tokenization

/// `rlhf bench tokenize`: encoding speed of a `tokenizer.json` over a text file, line by line on
/// one thread, for Scripts/bench-tokenizer to set beside the Rust `tokenizers` library.
struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Encode a text file line by line with a tokenizer.json; prints one JSON line.")

    @Option(help: "A directory with tokenizer.json (and optionally tokenizer_config.json).") var tokenizer: String
    @Option(help: "A UTF-8 text file; each line (without its newline) is encoded on its own.") var corpus: String

    func run() throws {
        var loaded: HuggingFaceTokenizer?
        let load = try seconds { loaded = try HuggingFaceTokenizer(directory: tokenizer) }
        guard let tok = loaded else { return }
        guard let data = FileManager.default.contents(atPath: corpus) else { throw ValidationError("\(corpus): cannot be read") }
        // Cut at the newline byte: a `Character` split would keep "\r\n" (one grapheme) together.
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        var tokens = 0, idSum = 0
        let t = try seconds {
            for line in lines {
                let ids = try tok.encode(line)
                tokens += ids.count
                idSum &+= ids.reduce(0, &+)
            }
        }
        try printJSON([
            "bench": "tokenize", "impl": "rlhf", "bytes": data.count, "lines": lines.count, "tokens": tokens,
            "id_sum": idSum, "seconds": t, "load_seconds": load,
            "tokens_per_s": (Double(tokens) / t).rounded(), "mb_per_s": (Double(data.count) / t / 1e4).rounded() / 100,
        ])
    }
}
