import Foundation
import Tokenization
import Training
import XCTest

/// The files saved beside a model: the tokenizer's own, plus what transformers needs to read a
/// SentencePiece model of this tool's as this tool does; a checkpoint's own config is kept.
final class CompanionFilesTests: XCTestCase {
    private func directory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("companions-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func config(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/tokenizer_config.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testSentencePieceModel_getsATransformersConfigAndTheTemplateAsJinja() throws {
        let source = try Fixture.tinyModelDirectory(seed: 3)
        let output = try directory("sp")
        try CompanionFiles(tokenizerPath: source + "/tokenizer.model", template: .builtIn(.vicuna)).save(to: output)
        let written = try config(output)
        XCTAssertEqual(written["tokenizer_class"] as? String, "LlamaTokenizer")
        XCTAssertEqual(written["legacy"] as? Bool, false)
        XCTAssertEqual(written["pad_token"] as? String, "<pad>")
        XCTAssertEqual(written["chat_template"] as? String, ChatTemplate.vicuna.jinjaSource)
        XCTAssertEqual(try String(contentsOfFile: output + "/chat_template.jinja", encoding: .utf8), ChatTemplate.vicuna.jinjaSource)
        XCTAssertEqual(try ChatFormat.load(fromDirectory: output)?.builtIn, .vicuna)

        // A later stage with another template rewrites both, so transformers never sees a stale one.
        let next = try directory("sp-next")
        try CompanionFiles(tokenizerPath: output + "/tokenizer.model", template: .builtIn(.chatml)).save(to: next)
        XCTAssertEqual(try config(next)["chat_template"] as? String, ChatTemplate.chatml.jinjaSource)
        XCTAssertEqual(try String(contentsOfFile: next + "/chat_template.jinja", encoding: .utf8), ChatTemplate.chatml.jinjaSource)
        let left = try FileManager.default.contentsOfDirectory(atPath: next).filter { $0.hasPrefix(".") }
        XCTAssertEqual(left, [], "no temporary file left")
    }

    func testACheckpointsOwnConfigAndTemplate_areKept() throws {
        let source = try Fixture.tinyModelDirectory(seed: 3)
        let foreign = #"{"tokenizer_class": "LlamaTokenizer", "legacy": true, "chat_template": "{{ messages[0]['content'] }}"}"#
        try foreign.write(toFile: source + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: source + "/chat_template.json")
        let output = try directory("foreign")
        let format = try XCTUnwrap(ChatFormat.load(fromDirectory: source))
        guard case .checkpoint = format else { return XCTFail("expected the checkpoint's template, got \(format.name)") }
        try CompanionFiles(tokenizerPath: source + "/tokenizer.model", template: format).save(to: output)
        XCTAssertEqual(try String(contentsOfFile: output + "/tokenizer_config.json", encoding: .utf8), foreign)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + "/chat_template.json"))
        XCTAssertEqual(try ChatFormat.load(fromDirectory: output)?.render(Conversation(user: "hi")), "hi")
    }
}
