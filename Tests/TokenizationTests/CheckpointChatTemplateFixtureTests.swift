import Foundation
import Tokenization
import XCTest

/// Checkpoint chat templates render byte for byte as transformers' apply_chat_template does
/// (Fixtures/chat/cases.json, made by Scripts/make-chat-template-fixtures), and the built-in
/// templates' Jinja text renders as `ChatTemplate.render` does, both in transformers and here.
final class CheckpointChatTemplateFixtureTests: XCTestCase {
    struct Fixture: Decodable {
        struct Template: Decodable { var special_tokens: [String: String] }
        struct Message: Decodable { var role: String; var content: String }
        struct Case: Decodable {
            var template: String
            var name: String
            var messages: [Message]
            var add_generation_prompt: Bool
            var variables: [String: String]
            var now: String?
            var expected: String?
            var error: String?
        }
        var transformers: String
        var templates: [String: Template]
        var cases: [Case]
    }

    static let chatDirectory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/chat")

    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: chatDirectory.appendingPathComponent("cases.json")))
    }

    static func template(_ name: String, _ fixture: Fixture) throws -> CheckpointChatTemplate {
        let url = chatDirectory.appendingPathComponent(name.hasPrefix("builtin/") ? "\(name).jinja" : "templates/\(name).jinja")
        let source = try String(contentsOf: url, encoding: .utf8)
        return try CheckpointChatTemplate(source: source, specialTokens: fixture.templates[name]!.special_tokens, origin: url.lastPathComponent)
    }

    /// "2024-07-26T12:00:00" as that local time, as Python's naive `datetime` is.
    static func localDate(_ text: String) -> Date {
        let parts = text.split(whereSeparator: { "-T:".contains($0) }).map { Int($0)! }
        return Calendar.current.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4], second: parts[5]))!
    }

    func testCheckpointTemplates_renderAsTransformersDoes() throws {
        let fixture = try Self.fixture()
        var checked = 0
        for testCase in fixture.cases {
            var template = try Self.template(testCase.template, fixture)
            template.variables = testCase.variables
            template.date = testCase.now.map(Self.localDate)
            let label = "\(testCase.template) \(testCase.name) generation=\(testCase.add_generation_prompt)"
            let messages = testCase.messages.map { CheckpointChatTemplate.Message(role: $0.role, content: $0.content) }
            do {
                let rendered = try template.render(messages: messages, addGenerationPrompt: testCase.add_generation_prompt)
                guard let expected = testCase.expected else {
                    XCTFail("\(label): rendered \(rendered.debugDescription) but transformers raised \(testCase.error ?? "")")
                    continue
                }
                if rendered != expected {
                    let common = zip(rendered.unicodeScalars, expected.unicodeScalars).prefix { $0 == $1 }.count
                    XCTFail("\(label): differs from transformers at scalar \(common):\n got      \(rendered.debugDescription)\n expected \(expected.debugDescription)")
                }
            } catch let error as ChatTemplateError {
                guard let expected = testCase.error else {
                    XCTFail("\(label): \(error)")
                    continue
                }
                XCTAssertEqual(error.kind, .raised, label)
                XCTAssertTrue(error.description.hasSuffix("the template raised an error: " + expected), "\(label): \(error)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 150)
    }

    func testBuiltInJinjaSource_isTheFileTransformersRendered() throws {
        for template in ChatTemplate.allCases {
            let file = try String(contentsOf: Self.chatDirectory.appendingPathComponent("builtin/\(template.rawValue).jinja"), encoding: .utf8)
            XCTAssertEqual(template.jinjaSource, file, "\(template): run Scripts/make-chat-template-fixtures")
        }
    }

    func testBuiltInTemplates_transformersRendersJinjaSourceAsRenderDoes() throws {
        let fixture = try Self.fixture()
        var checked = 0
        for testCase in fixture.cases where testCase.template.hasPrefix("builtin/") {
            let builtIn = try ChatTemplate(named: String(testCase.template.dropFirst("builtin/".count)))
            var system: String?
            var turns: [Conversation.Turn] = []
            for message in testCase.messages {
                if message.role == "system" { system = message.content } else {
                    turns.append(Conversation.Turn(role: Conversation.Role(rawValue: message.role)!, content: message.content))
                }
            }
            let conversation = Conversation(system: system, turns: turns)
            let ours = testCase.add_generation_prompt ? builtIn.renderPrompt(conversation) : builtIn.render(conversation)
            XCTAssertEqual(testCase.expected, ours, "\(testCase.template) \(testCase.name)")
            checked += 1
        }
        XCTAssertEqual(checked, 36)
    }

    func testBuiltInTemplates_interpreterRendersJinjaSourceAsRenderDoes() throws {
        let conversations = [
            Conversation(user: "q"),
            Conversation(user: "q", assistant: "a"),
            Conversation(system: "S", user: "q"),
            Conversation(system: "", turns: [.init(role: .user, content: "q1"), .init(role: .assistant, content: "a1"), .init(role: .user, content: "q2")]),
            Conversation(system: "Be brief.", turns: [.init(role: .user, content: " ü\n "), .init(role: .assistant, content: "a1"),
                                                      .init(role: .user, content: "q2"), .init(role: .assistant, content: "a2")]),
        ]
        for builtIn in ChatTemplate.allCases {
            let jinja = try CheckpointChatTemplate(source: builtIn.jinjaSource,
                                                   specialTokens: ["bos_token": builtIn.bosLiteral, "eos_token": builtIn.eosLiteral],
                                                   origin: builtIn.rawValue)
            for conversation in conversations {
                XCTAssertEqual(try jinja.render(conversation), builtIn.render(conversation), "\(builtIn) \(conversation)")
                XCTAssertEqual(try jinja.renderPrompt(conversation), builtIn.renderPrompt(conversation), "\(builtIn) \(conversation)")
                // Prefix rendering counts chatml's newline after <|im_end|> as part of the answer.
                let assistant = try jinja.segments(conversation).filter(\.isAssistant).map(\.text).joined()
                let builtInAssistant = builtIn.segments(conversation).filter(\.isAssistant).map(\.text).joined()
                XCTAssertEqual(assistant, builtIn == .chatml ? builtInAssistant.replacingOccurrences(of: "<|im_end|>", with: "<|im_end|>\n") : builtInAssistant,
                               "\(builtIn) \(conversation)")
            }
        }
    }
}
