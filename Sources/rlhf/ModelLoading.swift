import Foundation
import Model
import Tokenization

/// A command-line mistake: what was wrong and what is expected.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum ModelLoading {
    /// Loads a model directory, with a clear message when it is not one.
    static func load(directory: String) throws -> Llama {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw UsageError("\(directory): no such model directory")
        }
        guard FileManager.default.fileExists(atPath: "\(directory)/config.json") else {
            throw UsageError("\(directory): not a model directory (no config.json; expected the HF layout that rlhf init and rlhf train write)")
        }
        return try Llama.load(directory: directory)
    }

    /// The directory's tokenizer (tokenizer.model or tokenizer.json), if it has one.
    static func tokenizer(in directory: String) throws -> (any TextTokenizer)? {
        try TokenizerFiles.loadIfPresent(directory: directory)
    }

    /// Parses "1 5 9" or "1,5,9" and checks every id against the model's vocabulary.
    static func parseIDs(_ text: String, vocabSize: Int, modelDirectory: String) throws -> [Int] {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" })
        var ids: [Int] = []
        for (i, p) in parts.enumerated() {
            guard let id = Int(p) else { throw UsageError("--ids: item \(i) '\(p)' is not an integer token id") }
            guard id >= 0 && id < vocabSize else {
                throw UsageError("--ids: id \(id) at position \(i) is outside the vocabulary (vocab_size \(vocabSize) in \(modelDirectory)/config.json)")
            }
            ids.append(id)
        }
        guard !ids.isEmpty else { throw UsageError("--ids: give at least one token id, e.g. --ids \"1 5 9\"") }
        return ids
    }
}

/// Prints one line of key-sorted JSON. Foundation on Linux escapes "/" as "\/" whatever the
/// options say; paths read better without it, and "\/" is never needed in JSON.
func printJSON(_ object: Any) throws {
    print(try jsonLine(object))
}

/// `object` as one line of JSON with sorted keys, paths written with plain slashes.
func jsonLine(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
}
