import Foundation
import Tokenization
import XCTest

/// A model directory this tool writes gives transformers users the same text pipeline: the
/// `tokenizer_config.json` beside a SentencePiece model and the built-in templates'
/// `chat_template.jinja` make `AutoTokenizer.from_pretrained(DIR)` produce the ids this tool
/// produces (Fixtures/export/expected.json, from Scripts/make-export-fixtures).
final class TransformersExportTests: XCTestCase {
    private struct Expected: Decodable {
        struct Text: Decodable {
            var text: String
            var ids: [Int]
            var ids_split_special_tokens: [Int]
            var decoded: String
        }
        struct Chat: Decodable {
            var template: String
            var messages: [[String: String]]
            var add_generation_prompt: Bool
            var text: String
            var ids: [Int]
        }
        var special_ids: [String: Int]
        var texts: [Text]
        var chats: [Chat]
    }

    private var directory: String {
        get throws { try XCTUnwrap(Bundle.module.resourcePath, "test resources") + "/Fixtures/export" }
    }

    private func expected() throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: try directory + "/expected.json"))
        return try JSONDecoder().decode(Expected.self, from: data)
    }

    private func tokenizer() throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(contentsOf: try directory + "/tokenizer.model")
    }

    func testConfig_isTheOneTheFixtureLoadedIntoTransformers() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try directory + "/expected.json"))
        let fixture = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["config"] as? [String: Any])
        let written = TransformersTokenizerConfig.contents(for: try tokenizer(), chatTemplate: nil)
        XCTAssertEqual(NSDictionary(dictionary: written), NSDictionary(dictionary: fixture))
        XCTAssertEqual(TransformersTokenizerConfig.contents(for: try tokenizer(), chatTemplate: "T")["chat_template"] as? String, "T")
    }

    func testTextIDs_matchTransformers() throws {
        let tokenizer = try tokenizer()
        let expected = try expected()
        XCTAssertEqual(expected.special_ids, ["bos": tokenizer.bosID, "eos": tokenizer.eosID, "pad": tokenizer.padID, "unk": tokenizer.unkID])
        for text in expected.texts {
            let ids = try tokenizer.encode(text.text)
            // transformers matches "</s>" typed in text as the eos token; this tool keeps a
            // user's characters as characters, which transformers does with split_special_tokens.
            XCTAssertEqual(ids, text.ids_split_special_tokens, text.text)
            let hasSpecialLiteral = ["<s>", "</s>", "<unk>", "<pad>"].contains { text.text.contains($0) }
            if !hasSpecialLiteral {
                XCTAssertEqual(ids, text.ids, text.text)
                XCTAssertEqual(try tokenizer.decode(ids), text.decoded, text.text)
            }
        }
        XCTAssertTrue(expected.texts.contains { $0.ids != $0.ids_split_special_tokens }, "the corpus covers special tokens in text")
    }

    func testTemplates_giveTransformersTheSameChatIDs() throws {
        let tokenizer = try tokenizer()
        let chats = try expected().chats
        XCTAssertEqual(Set(chats.map(\.template)), Set(ChatTemplate.allCases.map(\.rawValue) + ["mistral-v0.2-instruct", "zephyr"]))
        let specials = ["bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"]
        for chat in chats {
            let format: ChatFormat
            if let builtIn = ChatTemplate(rawValue: chat.template) {
                format = .builtIn(builtIn)
            } else {
                // A checkpoint template over a SentencePiece model (as Llama 2 and Mistral 7B ship):
                // the "<s>" and "</s>" it writes must encode to bos and eos, as transformers matches them.
                let file = try directory + "/../chat/templates/\(chat.template).jinja"
                let source = try String(contentsOfFile: file, encoding: .utf8)
                format = .checkpoint(try CheckpointChatTemplate(source: source, specialTokens: specials, origin: file))
            }
            let system = chat.messages.first { $0["role"] == "system" }?["content"]
            let turns = chat.messages.compactMap { message -> Conversation.Turn? in
                guard let role = Conversation.Role(rawValue: message["role"] ?? ""), let content = message["content"] else { return nil }
                return Conversation.Turn(role: role, content: content)
            }
            let conversation = Conversation(system: system, turns: turns)
            let segments = chat.add_generation_prompt ? try format.promptSegments(conversation) : try format.segments(conversation)
            let label = "\(chat.template) \(chat.messages.count) messages"
            XCTAssertEqual(try tokenizer.encode(segments).ids, chat.ids, label)
            // The text differs only where a template shows its own eos literal ("<|im_end|>")
            // for the tokenizer's eos token ("</s>").
            let shown = segments.map { $0.special == nil ? $0.text : ($0.special == .bos ? "<s>" : "</s>") }.joined()
            XCTAssertEqual(shown, chat.text, label)
        }
    }
}
