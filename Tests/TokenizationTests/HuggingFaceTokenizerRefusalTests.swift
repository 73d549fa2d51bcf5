import Foundation
import Tokenization
import XCTest

/// Files we cannot tokenize exactly are refused at load, with the file and the JSON path of the
/// part at fault; bad ids are refused at decode.
final class HuggingFaceTokenizerRefusalTests: XCTestCase {
    private var scratch: String!

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "hf-refusal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// The Llama 3 fixture's tokenizer.json, changed by `edit`, written to the scratch directory.
    private func file(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let source = try HuggingFaceTokenizerFixtureTests.directory("llama3") + "/tokenizer.json"
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source))) as? [String: Any])
        edit(&json)
        let path = scratch + "/tokenizer.json"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The message loading `path` fails with (the test fails if it loads).
    private func refusal(_ path: String, config: HuggingFaceTokenizerConfig? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try HuggingFaceTokenizer(tokenizerFile: path, config: config)
            XCTFail("loaded", file: file, line: line)
            return ""
        } catch let error as TokenizerError {
            return error.description
        } catch {
            XCTFail("not a TokenizerError: \(error)", file: file, line: line)
            return ""
        }
    }

    private func assertRefused(_ message: String, contains expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(message.contains(expected), "\(message.debugDescription) does not contain \(expected.debugDescription)", file: file, line: line)
        XCTAssertTrue(message.hasPrefix(scratch), "\(message.debugDescription) does not name the file", file: file, line: line)
    }

    private func replacing(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void { { $0[key] = value } }

    // MARK: - Malformed files

    func testTruncatedJSON_isRefused() throws {
        let path = try file { _ in }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        assertRefused(refusal(path), contains: "not valid JSON")
    }

    func testMissingFile_isRefused() {
        let message = refusal(scratch + "/tokenizer.json")
        XCTAssertTrue(message.contains("no such tokenizer file"), message)
    }

    func testWrongType_namesThePath() throws {
        let path = try file { json in
            var model = json["model"] as! [String: Any]
            model["vocab"] = ["a", "b"]
            json["model"] = model
        }
        assertRefused(refusal(path), contains: "model.vocab must be an object, found an array")
    }

    func testWrongTypeDeepInside_namesThePath() throws {
        let path = try file { json in
            var added = json["added_tokens"] as! [[String: Any]]
            added[1]["special"] = "yes"
            json["added_tokens"] = added
        }
        assertRefused(refusal(path), contains: "added_tokens[1].special must be true or false, found a string")
    }

    /// JSON booleans and numbers are told apart (Foundation gives both as NSNumber).
    func testBooleanForANumberAndNumberForABoolean_areRefused() throws {
        let idAsBool = try file { json in
            var added = json["added_tokens"] as! [[String: Any]]
            added[0]["id"] = true
            json["added_tokens"] = added
        }
        assertRefused(refusal(idAsBool), contains: "added_tokens[0].id must be an integer, found a boolean")
        let flagAsNumber = try file { json in
            var added = json["added_tokens"] as! [[String: Any]]
            added[0]["special"] = 1
            json["added_tokens"] = added
        }
        assertRefused(refusal(flagAsNumber), contains: "added_tokens[0].special must be true or false, found a number")
    }

    func testMergeNamingAnUnknownToken_isRefused() throws {
        let path = try file { json in
            var model = json["model"] as! [String: Any]
            var merges = model["merges"] as! [Any]
            merges[3] = ["zzz-not-a-token", "a"]
            model["merges"] = merges
            json["model"] = model
        }
        assertRefused(refusal(path), contains: "model.merges[3] names \"zzz-not-a-token\", which is not in model.vocab")
    }

    // MARK: - Unsupported parts

    func testUnsupportedModel_isRefused() throws {
        let path = try file { json in json["model"] = ["type": "Unigram", "vocab": [] as [Any]] }
        assertRefused(refusal(path), contains: "model.type \"Unigram\" is not supported (supported: BPE)")
    }

    func testUnsupportedPreTokenizer_isRefused() throws {
        let path = try file { json in
            var pre = json["pre_tokenizer"] as! [String: Any]
            var steps = pre["pretokenizers"] as! [Any]
            steps[0] = ["type": "Whitespace"]
            pre["pretokenizers"] = steps
            json["pre_tokenizer"] = pre
        }
        assertRefused(refusal(path), contains: "pre_tokenizer.pretokenizers[0].type \"Whitespace\" is not supported")
    }

    func testUnknownSplitPattern_isRefused() throws {
        let path = try file { json in
            var pre = json["pre_tokenizer"] as! [String: Any]
            var steps = pre["pretokenizers"] as! [[String: Any]]
            steps[0]["pattern"] = ["Regex": #"\w+|[^\w\s]+"#]
            pre["pretokenizers"] = steps
            json["pre_tokenizer"] = pre
        }
        assertRefused(refusal(path), contains: #"pre_tokenizer.pretokenizers[0].pattern.Regex "\w+|[^\w\s]+" is not a supported split pattern"#)
    }

    func testByteLevelBeforeAnotherPreTokenizer_isRefused() throws {
        let path = try file { json in
            var pre = json["pre_tokenizer"] as! [String: Any]
            pre["pretokenizers"] = Array((pre["pretokenizers"] as! [Any]).reversed())
            json["pre_tokenizer"] = pre
        }
        assertRefused(refusal(path), contains: "pre_tokenizer.pretokenizers[0] is ByteLevel, which is only supported as the last pre-tokenizer")
    }

    func testUnsupportedNormalizer_isRefused() throws {
        let path = try file(replacing("normalizer", ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "BertNormalizer"]]]))
        assertRefused(refusal(path), contains: "normalizer.normalizers[1].type \"BertNormalizer\" is not supported")
    }

    func testRegexReplaceNormalizer_isRefused() throws {
        let path = try file(replacing("normalizer", ["type": "Replace", "pattern": ["Regex": " +"], "content": " "]))
        assertRefused(refusal(path), contains: "normalizer.pattern must be {\"String\": ...}; regex replacements are not supported")
    }

    func testUnsupportedDecoder_isRefused() throws {
        let path = try file(replacing("decoder", ["type": "WordPiece", "prefix": "##"]))
        assertRefused(refusal(path), contains: "decoder.type \"WordPiece\" is not supported")
    }

    func testUnsupportedPostProcessor_isRefused() throws {
        let path = try file(replacing("post_processor", ["type": "Mystery"]))
        assertRefused(refusal(path), contains: "post_processor.type \"Mystery\" is not supported")
    }

    func testBPEDropout_isRefused() throws {
        let path = try file { json in
            var model = json["model"] as! [String: Any]
            model["dropout"] = 0.1
            json["model"] = model
        }
        assertRefused(refusal(path), contains: "model.dropout is 0.1; BPE dropout is not supported")
    }

    // MARK: - The config

    func testConfigNamingAnUnknownToken_isRefused() throws {
        let path = try file { _ in }
        let message = refusal(path, config: HuggingFaceTokenizerConfig(eosToken: "<|no-such-token|>"))
        XCTAssertTrue(message.contains("eos_token \"<|no-such-token|>\" is not a token of"), message)
    }

    func testConfigWithWrongType_isRefused() throws {
        let path = scratch + "/" + HuggingFaceTokenizerConfig.fileName
        try Data(#"{"bos_token": 5}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try HuggingFaceTokenizerConfig(contentsOf: path)) { error in
            XCTAssertTrue("\(error)".contains("bos_token must be a string or {\"content\": ...}, found a number"), "\(error)")
        }
    }

    func testConfig_readsAddedTokenObjectsAndFlags() throws {
        let path = scratch + "/" + HuggingFaceTokenizerConfig.fileName
        try Data(#"{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "add_bos_token": true, "model_max_length": 4096, "chat_template": "{{ x }}"}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let config = try HuggingFaceTokenizerConfig(contentsOf: path)
        XCTAssertEqual(config, HuggingFaceTokenizerConfig(bosToken: "<s>", eosToken: "</s>", addBOSToken: true, chatTemplate: "{{ x }}", modelMaxLength: 4096))
    }

    // MARK: - Decoding

    func testDecodeOfAnIDOutsideTheVocabulary_isRefused() throws {
        let tokenizer = try HuggingFaceTokenizer(directory: try HuggingFaceTokenizerFixtureTests.directory("llama3"))
        for id in [tokenizer.pieceCount, -1, Int.max] {
            XCTAssertThrowsError(try tokenizer.decode([5, id])) { error in
                XCTAssertTrue("\(error)".contains("id \(id) is not a token"), "\(error)")
            }
        }
    }
}
