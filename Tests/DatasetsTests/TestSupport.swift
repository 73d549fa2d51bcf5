import Datasets
import Foundation
import Tokenization
import XCTest

/// A temporary directory that tests write dataset files into; removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = "\(path)/\(name)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Writes one line per element.
    @discardableResult
    func writeLines(_ name: String, _ lines: [String]) throws -> String {
        try write(name, lines.joined(separator: "\n") + "\n")
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A small real SentencePiece model, trained once for the whole test run (well under a second).
enum TinyTokenizer {
    static let shared: SentencePieceTokenizer = {
        do {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-spm-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let words = ["the", "cat", "sat", "on", "mat", "dog", "ran", "far", "away", "hello", "what", "is",
                         "Human:", "Assistant:", "USER:", "ASSISTANT:", "answer", "question", "tell", "me", "a", "joke"]
            var state: UInt64 = 7
            var lines: [String] = []
            for _ in 0..<1500 {
                lines.append((0..<9).map { _ in
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    return words[Int(state >> 33) % words.count]
                }.joined(separator: " "))
            }
            try lines.joined(separator: "\n").write(toFile: "\(dir)/corpus.txt", atomically: true, encoding: .utf8)
            let path = try TokenizerTrainer(inputFiles: ["\(dir)/corpus.txt"], vocabSize: 400).train(outputDirectory: dir)
            defer { try? FileManager.default.removeItem(atPath: dir) }  // the model is read into memory
            return try SentencePieceTokenizer(contentsOf: path)
        } catch {
            fatalError("could not train the test tokenizer: \(error)")
        }
    }()
}

/// Reads one file's records, failing the test on error.
func readRecords(_ path: String, format: DatasetFormat? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [DatasetRecord] {
    try DatasetReader(format: format).read(path).records
}

/// The error reading `path` throws, or a test failure.
func readError(_ path: String, format: DatasetFormat? = nil, file: StaticString = #filePath, line: UInt = #line) -> DatasetError? {
    do {
        _ = try DatasetReader(format: format).read(path)
        XCTFail("expected \(path) to be refused", file: file, line: line)
    } catch let error as DatasetError {
        return error
    } catch {
        XCTFail("expected a DatasetError, got \(error)", file: file, line: line)
    }
    return nil
}

extension DatasetRecord {
    var conversation: Conversation? { if case .conversation(let c) = content { c } else { nil } }
    var pair: PreferencePair? { if case .preference(let p) = content { p } else { nil } }
    var textRecord: TextRecord? { if case .text(let t) = content { t } else { nil } }
}

func turn(_ role: Conversation.Role, _ content: String) -> Conversation.Turn { Conversation.Turn(role: role, content: content) }
