import Datasets
import Foundation
import Tokenization

/// Text files for tokenizer training: plain text files as they are, datasets turned into one line
/// per message (prompts, responses, chosen and rejected answers, texts), so a tokenizer can be
/// trained on the same files as the model without a conversion script.
struct DatasetCorpus {
    /// The files to train on.
    let files: [String]
    private let scratch: String?

    init(inputs: [String], scratchDirectory: String) throws {
        var lines: [String] = []
        var plain: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw UsageError("--input \(input): no such file or directory")
            }
            let ext = (input as NSString).pathExtension.lowercased()
            guard isDirectory.boolValue || DatasetReader.extensions.contains(ext) else {
                plain.append(input)
                continue
            }
            for record in try DatasetReader().read(input).records {
                switch record.content {
                case .conversation(let c):
                    lines += Self.lines(c)
                case .preference(let p):
                    lines += Self.lines(p.prompt) + [p.chosen, p.rejected]
                case .text(let t):
                    lines.append(t.text)
                }
            }
        }
        if lines.isEmpty {
            files = plain
            scratch = nil
            return
        }
        try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        let path = "\(scratchDirectory)/.corpus-\(getpid()).txt"
        // SentencePiece reads one sentence per line: newlines inside a message become spaces.
        let text = lines.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        files = plain + [path]
        scratch = path
    }

    private static func lines(_ c: Conversation) -> [String] {
        (c.system.map { [$0] } ?? []) + c.turns.map(\.content)
    }

    func removeScratch() {
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }
}
