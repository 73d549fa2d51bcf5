import Datasets
import Foundation
import Tokenization
import XCTest

/// Each template renders a two-exchange conversation exactly; prompts are prefixes; templates
/// are saved with a model.
final class ChatTemplateTests: XCTestCase {
    private let chat = Conversation(system: "Be brief.", turns: [
        Conversation.Turn(role: .user, content: "q1"), Conversation.Turn(role: .assistant, content: "a1"),
        Conversation.Turn(role: .user, content: "q2"), Conversation.Turn(role: .assistant, content: "a2"),
    ])

    func testDeepSpeedChat() {
        XCTAssertEqual(ChatTemplate.deepspeedChat.render(chat),
                       "<s>Be brief. Human: q1 Assistant: a1<|endoftext|> Human: q2 Assistant: a2<|endoftext|>")
        XCTAssertEqual(ChatTemplate.deepspeedChat.renderPrompt(Conversation(user: "q")), "<s> Human: q Assistant:")
    }

    func testVicuna() {
        XCTAssertEqual(ChatTemplate.vicuna.render(chat), "<s>Be brief. USER: q1 ASSISTANT: a1</s>USER: q2 ASSISTANT: a2</s>")
        XCTAssertEqual(ChatTemplate.vicuna.renderPrompt(Conversation(user: "q")),
                       "<s>" + ChatTemplate.vicunaSystemPrompt + " USER: q ASSISTANT:")
    }

    func testLlama2() {
        XCTAssertEqual(ChatTemplate.llama2.render(chat),
                       "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nq1 [/INST] a1 </s><s>[INST] q2 [/INST] a2 </s>")
        XCTAssertEqual(ChatTemplate.llama2.renderPrompt(Conversation(user: "q")), "<s>[INST] q [/INST]")
    }

    func testChatML() {
        XCTAssertEqual(ChatTemplate.chatml.render(chat),
                       "<s><|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n"
                       + "<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\na2<|im_end|>\n")
        XCTAssertEqual(ChatTemplate.chatml.renderPrompt(Conversation(user: "q")), "<s><|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n")
    }

    func testPlainAndRaw() {
        XCTAssertEqual(ChatTemplate.plain.render(chat), "<s>Be brief.\nq1\na1</s>q2\na2</s>")
        XCTAssertEqual(ChatTemplate.raw.render(chat), "<s>Be brief.q1a1</s>q2a2</s>")
    }

    func testSegments_assistantFlagsCoverExactlyAnswersAndEndMarkers() {
        for template in ChatTemplate.allCases {
            let assistantText = template.segments(chat).filter(\.isAssistant).map(\.text).joined()
            let expected: String
            switch template {
            case .deepspeedChat: expected = " a1<|endoftext|> a2<|endoftext|>"
            case .vicuna: expected = " a1</s> a2</s>"
            case .llama2: expected = " a1 </s> a2 </s>"
            case .chatml: expected = "a1<|im_end|>a2<|im_end|>"
            case .plain, .raw: expected = "a1</s>a2</s>"
            }
            XCTAssertEqual(assistantText, expected, "\(template)")
            let ends = template.segments(chat).filter { $0.special == .eos && $0.isAssistant }.count
            XCTAssertEqual(ends, 2, "\(template): one eos per answer")
        }
    }

    func testPromptSegments_areAPrefixOfTheAnsweredConversation() {
        let prompt = Conversation(system: "S", turns: Array(chat.turns.prefix(3)))
        for template in ChatTemplate.allCases {
            let promptSegments = template.promptSegments(prompt)
            let whole = template.segments(prompt.appendingAssistant("a2"))
            XCTAssertEqual(Array(whole.prefix(promptSegments.count)), promptSegments, "\(template)")
            XCTAssertEqual(template.answerSegments("a2", after: prompt), whole.dropFirst(promptSegments.count).filter(\.isAssistant))
        }
    }

    func testSpecialTokens_encodeToIDsButUserTextDoesNot() throws {
        let tokenizer = TinyTokenizer.shared
        let conversation = Conversation(user: "say </s> please", assistant: "ok")
        let (ids, isAssistant) = try tokenizer.encode(ChatTemplate.vicuna.segments(conversation))
        XCTAssertEqual(ids.first, tokenizer.bosID)
        XCTAssertEqual(ids.last, tokenizer.eosID)
        XCTAssertEqual(ids.filter { $0 == tokenizer.eosID }.count, 1, "the user's literal </s> stays text")
        XCTAssertEqual(isAssistant.last, true)
    }

    func testNamed_unknownNameListsTheKnownOnes() {
        XCTAssertEqual(try ChatTemplate(named: "Llama2"), .llama2)
        XCTAssertEqual(try ChatTemplate(named: "deepspeed-chat"), .deepspeedChat)
        XCTAssertThrowsError(try ChatTemplate(named: "alpaca")) { error in
            XCTAssertEqual("\(error)", "unknown chat template 'alpaca'; known templates: deepspeed-chat, vicuna, llama-2, chatml, plain, raw")
        }
    }

    func testSaveAndLoad_templateTravelsWithTheModel() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        XCTAssertNil(try ChatTemplate.load(fromDirectory: dir.path))
        XCTAssertEqual(try ChatTemplate.resolve(name: nil, modelDirectory: dir.path), .default)
        try ChatTemplate.chatml.save(toDirectory: dir.path)
        XCTAssertEqual(try ChatTemplate.load(fromDirectory: dir.path), .chatml)
        XCTAssertEqual(try ChatTemplate.resolve(name: nil, modelDirectory: dir.path), .chatml)
        XCTAssertEqual(try ChatTemplate.resolve(name: "vicuna", modelDirectory: dir.path), .vicuna, "an explicit name wins")
        let saved = try String(contentsOfFile: "\(dir.path)/chat_template.json", encoding: .utf8)
        XCTAssertTrue(saved.contains("\"name\" : \"chatml\""), saved)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["chat_template.json"], "no temporary file left")
        try dir.write("chat_template.json", #"{"name": "nope"}"#)
        XCTAssertThrowsError(try ChatTemplate.load(fromDirectory: dir.path))
    }
}
