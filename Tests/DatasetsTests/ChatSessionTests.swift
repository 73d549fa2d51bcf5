import Foundation
import Tokenization
import XCTest

/// `ChatSession` (the history `rlhf chat` renders each turn, and its truncation), `ChatInput`
/// (the commands) and `IncrementalDecoder` (streamed text), with a real SentencePiece model.
final class ChatSessionTests: XCTestCase {
    private let tokenizer = TinyTokenizer.shared
    private let exchanges = [("the cat sat", "on the mat"), ("what is a dog", "a dog ran far"), ("tell me a joke", "the cat ran away")]

    private func promptLength(_ template: ChatTemplate, history: ArraySlice<(String, String)>, message: String) throws -> Int {
        var turns: [Conversation.Turn] = []
        for (q, a) in history { turns += [.init(role: .user, content: q), .init(role: .assistant, content: a)] }
        turns.append(.init(role: .user, content: message))
        return try tokenizer.encode(template.promptSegments(Conversation(turns: turns))).ids.count
    }

    /// With room for everything, the prompt is the template's rendering of the whole history and
    /// the message, encoded as training encodes it.
    func testPrompt_isTheWholeConversationRendered() throws {
        for template in [ChatTemplate.deepspeedChat, .chatml, .llama2] {
            var session = try ChatSession(template: .builtIn(template), tokenizer: tokenizer, system: "be brief", promptBudget: 400)
            for (q, a) in exchanges { session.record(question: q, answer: " \(a) \n") }
            let p = try session.prompt(for: "hello")
            let whole = Conversation(system: "be brief", turns: session.turns + [.init(role: .user, content: "hello")])
            XCTAssertEqual(p.ids, try tokenizer.encode(template.promptSegments(whole)).ids)
            XCTAssertEqual(p.text, template.renderPrompt(whole))
            XCTAssertEqual(session.turns[1].content, "on the mat", "answers are kept trimmed")
            XCTAssertEqual(p.droppedTurns, 0)
            XCTAssertNil(p.notice)
            XCTAssertEqual(session.answersRecorded, 3)
        }
    }

    /// A budget that holds the last two exchanges and the message: the first exchange goes, and
    /// only it; the user is told once; /clear empties the history and the next drop is told again.
    func testTruncation_dropsTheOldestExchangesFirst_andTellsOnce() throws {
        let template = ChatTemplate.deepspeedChat
        let budget = try promptLength(template, history: exchanges[1...], message: "hello")
        XCTAssertGreaterThan(try promptLength(template, history: exchanges[...], message: "hello"), budget)
        var session = try ChatSession(template: .builtIn(template), tokenizer: tokenizer, promptBudget: budget)
        for (q, a) in exchanges { session.record(question: q, answer: a) }

        let p = try session.prompt(for: "hello")
        XCTAssertEqual(p.droppedTurns, 2)
        XCTAssertEqual(p.ids.count, budget)
        XCTAssertEqual(session.turns.map(\.content), ["what is a dog", "a dog ran far", "tell me a joke", "the cat ran away"])
        XCTAssertFalse(p.text.contains("the cat sat"))
        XCTAssertTrue(p.text.contains("what is a dog") && p.text.contains("the cat ran away") && p.text.hasSuffix(" Human: hello Assistant:"))
        XCTAssertNotNil(p.notice, "the first drop is announced")

        session.record(question: "hello", answer: "hello")
        let again = try session.prompt(for: "hello")
        XCTAssertGreaterThan(again.droppedTurns, 0)
        XCTAssertLessThanOrEqual(again.ids.count, budget)
        XCTAssertNil(again.notice, "told once")
        XCTAssertEqual(session.turns.last?.content, "hello", "the newest exchange stays")

        session.clear()
        XCTAssertTrue(session.turns.isEmpty)
        let fresh = try session.prompt(for: "the cat sat")
        XCTAssertEqual(fresh.text, template.renderPrompt(Conversation(user: "the cat sat")), "no history after /clear")
        for (q, a) in exchanges { session.record(question: q, answer: a) }
        XCTAssertNotNil(try session.prompt(for: "hello").notice, "after /clear a drop is announced again")
    }

    /// A message that does not fit even alone is refused and the history stays as it was.
    func testMessageTooLong_isRefusedAndKeepsTheHistory() throws {
        var session = try ChatSession(template: .builtIn(.deepspeedChat), tokenizer: tokenizer, promptBudget: 12)
        session.record(question: "hi", answer: "hello")
        let long = Array(repeating: "the cat sat on the mat", count: 10).joined(separator: " ")
        XCTAssertThrowsError(try session.prompt(for: long)) { error in
            guard case ChatSessionError.messageTooLong(let tokens, 12)? = error as? ChatSessionError else {
                return XCTFail("\(error)")
            }
            XCTAssertGreaterThan(tokens, 12)
        }
        XCTAssertEqual(session.turns.count, 2)
        XCTAssertThrowsError(try ChatSession(template: .builtIn(.plain), tokenizer: tokenizer, promptBudget: 0))
    }

    func testChatInput_commandsAndMessages() {
        XCTAssertEqual(ChatInput(line: "  hello there \n"), .message("hello there"))
        XCTAssertEqual(ChatInput(line: "/clear"), .clear)
        XCTAssertEqual(ChatInput(line: " /EXIT "), .exit)
        XCTAssertEqual(ChatInput(line: "/quit"), .exit)
        XCTAssertEqual(ChatInput(line: "/help"), .help)
        XCTAssertEqual(ChatInput(line: "/bogus x"), .unknownCommand("/bogus x"))
        XCTAssertEqual(ChatInput(line: "//etc is a directory"), .message("/etc is a directory"))
        XCTAssertEqual(ChatInput(line: "   "), .empty)
    }

    /// Streamed pieces add up to the final decode; a character made of byte pieces shows only
    /// whole; SentencePiece's leading "▁" does not show as a space; stop tokens show nothing.
    func testIncrementalDecoder_streamsWholeCharacters() throws {
        let text = "the cat sat on a mat, 日本 café 🙂 away"
        let ids = try tokenizer.encode(text) + [tokenizer.eosID]
        var decoder = IncrementalDecoder(tokenizer: tokenizer, hidden: [tokenizer.eosID])
        var pieces: [String] = []
        for id in ids { pieces.append(try decoder.append(id)) }
        pieces.append(try decoder.finish())
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertEqual(try decoder.text(), text)
        XCTAssertFalse(pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") }, "\(pieces)")
        XCTAssertEqual(pieces.first, "the", "no leading space")
        // Where decoding the tokens so far ends in a partial character, that token shows nothing.
        var incomplete = 0
        for i in ids.indices where try tokenizer.decode(Array(ids[...i])).hasSuffix("\u{FFFD}") {
            incomplete += 1
            XCTAssertEqual(pieces[i], "", "token \(i) ends inside a character")
        }
        XCTAssertGreaterThan(incomplete, 0, "the text has characters made of several byte pieces")
        XCTAssertEqual(pieces.count, ids.count + 1)
    }
}
