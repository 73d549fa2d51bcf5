import Foundation
import Tokenization
import XCTest

/// Segments found by rendering prefixes, errors that name the file and line, hostile templates
/// refused, and loading from a checkpoint directory.
final class CheckpointChatTemplateTests: XCTestCase {
    private let chat = Conversation(system: "Be brief.", turns: [
        .init(role: .user, content: "q1"), .init(role: .assistant, content: "a1"),
        .init(role: .user, content: "q2"), .init(role: .assistant, content: "a2"),
    ])

    private func checkpoint(_ name: String) throws -> CheckpointChatTemplate {
        let fixture = try CheckpointChatTemplateFixtureTests.fixture()
        var template = try CheckpointChatTemplateFixtureTests.template(name, fixture)
        template.variables = ["date_string": "26 Jul 2024"]
        return template
    }

    func testSegments_assistantSpansAreAnswersWithTheirEndMarkers() throws {
        let expected = [
            "qwen2.5-instruct": ["a1<|im_end|>\n", "a2<|im_end|>\n"],
            "qwen2-instruct": ["a1<|im_end|>\n", "a2<|im_end|>\n"],
            "smollm2-instruct": ["a1<|im_end|>\n", "a2<|im_end|>\n"],
            "llama3-instruct": ["a1<|eot_id|>", "a2<|eot_id|>"],
            "llama3.1-instruct": ["a1<|eot_id|>", "a2<|eot_id|>"],
            "llama3.2-instruct": ["a1<|eot_id|>", "a2<|eot_id|>"],
            "mistral-v0.2-instruct": [" a1</s>", " a2</s>"],
            "zephyr": ["a1</s>\n", "a2</s>\n"],
        ]
        for (name, answers) in expected {
            let template = try checkpoint(name)
            let segments = try template.segments(chat)
            XCTAssertEqual(segments.map(\.text).joined(), try template.render(chat), name)
            XCTAssertEqual(segments.filter(\.isAssistant).map(\.text), answers, name)
            XCTAssertTrue(segments.allSatisfy { $0.special == nil }, name)

            let prompt = chat.promptForLastResponse
            let promptSegments = try template.promptSegments(prompt)
            XCTAssertEqual(promptSegments.map(\.text).joined(), try template.renderPrompt(prompt), name)
            XCTAssertEqual(Array(segments.prefix(promptSegments.count)), promptSegments, "\(name): a prompt is a prefix of its answered conversation")
            XCTAssertEqual(try template.answerSegments("a2", after: prompt), [ChatSegment(text: answers[1], isAssistant: true)], name)
        }
    }

    func testSegments_whenTheTemplateMovesTheSystemPrompt_throwNamingTheTemplate() throws {
        let mistral = try checkpoint("mistral-v0.3-instruct")
        XCTAssertThrowsError(try mistral.segments(chat)) { error in
            let error = error as! ChatTemplateError
            XCTAssertEqual(error.kind, .notAPrefix)
            XCTAssertTrue(error.description.hasPrefix("mistral-v0.3-instruct.jinja: chat template: the rendering up to message"), "\(error)")
            XCTAssertTrue(error.description.contains("--template NAME"), "\(error)")
        }
        let noSystem = Conversation(turns: chat.turns)
        XCTAssertEqual(try mistral.segments(noSystem).filter(\.isAssistant).map(\.text), [" a1</s>", " a2</s>"])
    }

    func testRaiseException_isAnErrorWithTheTemplateLine() throws {
        let mistral = try checkpoint("mistral-v0.2-instruct")
        let twoUsers = [CheckpointChatTemplate.Message(role: "user", content: "a"), .init(role: "user", content: "b")]
        XCTAssertThrowsError(try mistral.render(messages: twoUsers, addGenerationPrompt: true)) { error in
            XCTAssertEqual("\(error)", "mistral-v0.2-instruct.jinja: chat template, line 11: the template raised an error: "
                           + "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...")
        }
    }

    private func refusal(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> ChatTemplateError? {
        do {
            let template = try CheckpointChatTemplate(source: source, specialTokens: [:], origin: "hostile.jinja")
            _ = try template.render(messages: [.init(role: "user", content: "q")], addGenerationPrompt: true)
            XCTFail("rendered \(source.prefix(60))", file: file, line: line)
            return nil
        } catch let error as ChatTemplateError {
            return error
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return nil
        }
    }

    func testHostileTemplates_areRefusedWithTheirLine() {
        let unknownFilter = refusal("{{ bos_token }}\n{% for m in messages %}\n{{ m.content | foo }}\n{% endfor %}")
        XCTAssertEqual(unknownFilter?.description, "hostile.jinja: chat template, line 3: unknown filter 'foo'; pass --template NAME (the recipe key template) "
                       + "to use a built-in template instead (deepspeed-chat, vicuna, llama-2, chatml, plain, raw)")
        XCTAssertEqual(unknownFilter?.kind, .unsupported)

        let unclosed = refusal("a\n{% if messages %}\nb")
        XCTAssertEqual(unclosed?.kind, .syntax)
        XCTAssertEqual(unclosed?.line, 2)
        XCTAssertTrue(unclosed?.description.contains("unclosed '{% if %}'") ?? false, "\(String(describing: unclosed))")

        XCTAssertEqual(refusal("ok\n{{ messages[0].content ")?.line, 2)
        XCTAssertEqual(refusal("{# never closed")?.kind, .syntax)
        XCTAssertEqual(refusal("{% endfor %}")?.kind, .syntax)
        XCTAssertEqual(refusal("{% include 'other.jinja' %}")?.kind, .unsupported)
        XCTAssertEqual(refusal("{{ x is frobnicated }}")?.kind, .unsupported)
        XCTAssertEqual(refusal("{{ messages[0].content.nope() }}")?.kind, .runtime)
        XCTAssertEqual(refusal("{{ undefined_thing.attribute }}")?.description, "hostile.jinja: chat template, line 1: 'undefined_thing' is undefined")

        XCTAssertEqual(refusal("{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}")?.kind, .limit)
        XCTAssertEqual(refusal("{{ " + String(repeating: "not ", count: 5000) + "1 }}")?.kind, .limit)
        XCTAssertEqual(refusal(String(repeating: "{% if true %}", count: 1000) + String(repeating: "{% endif %}", count: 1000))?.kind, .limit)
        XCTAssertEqual(refusal("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}")?.kind, .limit)
        XCTAssertEqual(refusal("{{ 'x' * 1000000000 }}")?.kind, .limit)
        XCTAssertEqual(refusal("{% for i in range(100000) %}{{ 'abcdefghij' * 100 }}{% endfor %}")?.kind, .limit)
        XCTAssertEqual(refusal("{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}")?.kind, .limit)
        XCTAssertEqual(refusal("{{ range(10000000000) }}")?.kind, .limit)
        XCTAssertEqual(refusal("{{ 2 ** 100 }}")?.kind, .runtime)
    }

    // MARK: - Loading

    func testLoad_readsTheTemplateAndSpecialTokensFromACheckpointDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-template-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertNil(try CheckpointChatTemplate.load(fromDirectory: directory))

        let config: [String: Any] = [
            "bos_token": ["content": "<s>", "lstrip": false], "eos_token": "</s>",
            "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content + eos_token }}{% endfor %}",
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(directory)/tokenizer_config.json"))
        let fromConfig = try XCTUnwrap(CheckpointChatTemplate.load(fromDirectory: directory))
        XCTAssertEqual(fromConfig.specialTokens, ["bos_token": "<s>", "eos_token": "</s>"])
        XCTAssertEqual(try fromConfig.render(Conversation(user: "q", assistant: "a")), "<s>q</s>a</s>")
        XCTAssertEqual(fromConfig.origin, "\(directory)/tokenizer_config.json (chat_template)")

        var named = config
        named["chat_template"] = [["name": "tool_use", "template": "T"], ["name": "default", "template": "D{{ eos_token }}"]]
        try JSONSerialization.data(withJSONObject: named).write(to: URL(fileURLWithPath: "\(directory)/tokenizer_config.json"))
        XCTAssertEqual(try CheckpointChatTemplate.load(fromDirectory: directory)?.render(messages: [], addGenerationPrompt: false), "D</s>")

        try "J{{ bos_token }}\n".write(toFile: "\(directory)/chat_template.jinja", atomically: true, encoding: .utf8)
        let fromJinja = try XCTUnwrap(CheckpointChatTemplate.load(fromDirectory: directory))
        XCTAssertEqual(try fromJinja.render(messages: [], addGenerationPrompt: false), "J<s>", "chat_template.jinja wins; its last newline is dropped")

        try "{{ x | nope }}".write(toFile: "\(directory)/chat_template.jinja", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CheckpointChatTemplate.load(fromDirectory: directory)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(directory)/chat_template.jinja: chat template, line 1: unknown filter 'nope'"), "\(error)")
        }
    }
}
