import Datasets
import Tokenization
import XCTest

/// One token per character (id = scalar + 10; bos 1, eos 2, pad 0), so lengths are exact.
struct CharacterTokenizer: TextTokenizer {
    func encode(_ text: String) throws -> [Int] { text.unicodeScalars.map { Int($0.value) + 10 } }
    func decode(_ ids: [Int]) throws -> String {
        String(String.UnicodeScalarView(ids.filter { $0 >= 10 }.compactMap { Unicode.Scalar(UInt32($0 - 10)) }))
    }
    var bosID: Int { 1 }
    var eosID: Int { 2 }
    var padID: Int { 0 }
    var unkID: Int { -1 }
    var pieceCount: Int { 0x11_0000 }
    func piece(_ id: Int) -> String? { try? decode([id]) }
    func isControl(_ id: Int) -> Bool { id < 10 }
}

/// Loss masks, truncation rules and their counts.
final class ExampleEncoderTests: XCTestCase {
    private let here = SourceLocation(file: "mem.jsonl", line: 1, record: 1)

    private func record(_ content: DatasetRecord.Content, line: Int = 1) -> DatasetRecord {
        DatasetRecord(content, source: SourceLocation(file: "mem.jsonl", line: line, record: line))
    }

    private func characters(_ maxLength: Int, _ maxPromptLength: Int?, template: ChatTemplate = .raw) throws -> ExampleEncoder {
        ExampleEncoder(template: .builtIn(template), tokenizer: CharacterTokenizer(),
                       truncation: try TruncationRule(maxLength: maxLength, maxPromptLength: maxPromptLength))
    }

    // MARK: - SFT loss mask with a real SentencePiece model

    func testSFT_lossMaskCoversExactlyTheAssistantTokensOfEveryTurn() throws {
        let tokenizer = TinyTokenizer.shared
        let conversation = Conversation(turns: [
            turn(.user, "what is the cat"), turn(.assistant, "the cat sat on the mat"),
            turn(.user, "tell me a joke"), turn(.assistant, "the dog ran far away"),
        ])
        let encoder = ExampleEncoder(template: .builtIn(.vicuna), tokenizer: tokenizer, truncation: try TruncationRule(maxLength: 512))
        let example = try XCTUnwrap(encoder.sftExamples([record(.conversation(conversation))]).examples.first)

        // Built independently: the text pieces of vicuna's rendering, encoded one by one.
        let system = ChatTemplate.vicunaSystemPrompt
        let pieces: [(ids: [Int], loss: Bool)] = [
            ([tokenizer.bosID], false),
            (try tokenizer.encode("\(system) USER: what is the cat ASSISTANT:"), false),
            (try tokenizer.encode(" the cat sat on the mat") + [tokenizer.eosID], true),
            (try tokenizer.encode("USER: tell me a joke ASSISTANT:"), false),
            (try tokenizer.encode(" the dog ran far away") + [tokenizer.eosID], true),
        ]
        XCTAssertEqual(example.ids, pieces.flatMap(\.ids))
        XCTAssertEqual(example.lossMask, pieces.flatMap { Array(repeating: $0.loss, count: $0.ids.count) })
        let trained = zip(example.ids, example.lossMask).filter(\.1).map(\.0)
        XCTAssertEqual(trained.filter { $0 == tokenizer.eosID }.count, 2, "each answer's eos is trained")
        XCTAssertEqual(try tokenizer.decode(trained.filter { $0 != tokenizer.eosID }), " the cat sat on the mat the dog ran far away")
    }

    func testSFT_promptIDsAreThePrefixGenerationSees() throws {
        let tokenizer = TinyTokenizer.shared
        let conversation = Conversation(user: "hello what is the mat", assistant: "the mat is far away")
        for template in ChatTemplate.allCases {
            let encoder = ExampleEncoder(template: .builtIn(template), tokenizer: tokenizer, truncation: try TruncationRule(maxLength: 512))
            let sft = try encoder.sftExamples([record(.conversation(conversation))]).examples[0]
            let prompt = try encoder.promptExamples([record(.conversation(conversation))]).examples[0]
            let firstLoss = try XCTUnwrap(sft.lossMask.firstIndex(of: true))
            XCTAssertEqual(Array(sft.ids[..<firstLoss]), prompt.ids, "\(template)")
        }
    }

    func testSFT_fromPreferenceTextAndUnsuitableRecords() throws {
        let encoder = try characters(100, nil)
        let pair = PreferencePair(prompt: Conversation(user: "ab"), chosen: "c", rejected: "d")
        let fromPair = try encoder.sftExamples([record(.preference(pair))]).examples[0]
        XCTAssertEqual(try CharacterTokenizer().decode(fromPair.ids), "abc", "step 1 trains on prompt + chosen")
        XCTAssertEqual(fromPair.lossMask, [false, false, false, true, true])
        let fromText = try encoder.sftExamples([record(.text(TextRecord(text: "xy")))]).examples[0]
        XCTAssertEqual(fromText.lossMask, [false, true, true, true])
        let promptOnly = record(.conversation(Conversation(user: "no answer")), line: 7)
        XCTAssertThrowsError(try encoder.sftExamples([promptOnly])) { error in
            XCTAssertEqual((error as? DatasetError)?.kind, .unsuitableRecord)
            XCTAssertEqual((error as? DatasetError)?.line, 7)
        }
        var skipping = encoder
        skipping.skipBadRecords = true
        let result = try skipping.sftExamples([promptOnly, record(.preference(pair))])
        XCTAssertEqual(result.examples.count, 1)
        XCTAssertEqual(result.skipped.map(\.line), [7])
    }

    // MARK: - Truncation rules

    func testRule_keepsBothWholeWhenTheyFit() throws {
        let rule = try TruncationRule(maxLength: 100, maxPromptLength: 50)
        XCTAssertTrue(rule.lengths(prompt: 90, response: 10) == (90, 10), "a long prompt stays whole when it fits")
        XCTAssertTrue(rule.lengths(prompt: 90, response: 20) == (80, 20), "the prompt gives way only as far as needed")
        XCTAssertTrue(rule.lengths(prompt: 30, response: 200) == (30, 70), "a short prompt stays whole, the response is cut")
        XCTAssertTrue(rule.lengths(prompt: 300, response: 300) == (50, 50), "both long: the prompt gets maxPromptLength")
        XCTAssertEqual(try TruncationRule(maxLength: 512).maxPromptLength, 256)
        XCTAssertThrowsError(try TruncationRule(maxLength: 100, maxPromptLength: 100))
        XCTAssertThrowsError(try TruncationRule(maxLength: 1))
    }

    func testSFT_truncationLeftCutsThePromptKeepingBOSAndRightCutsTheResponse() throws {
        let encoder = try characters(20, 8)
        let long = Conversation(user: String(repeating: "p", count: 30) + "END", assistant: "START" + String(repeating: "r", count: 30))
        let fits = Conversation(user: "pp", assistant: "rr")
        let result = try encoder.sftExamples([record(.conversation(long)), record(.conversation(fits))])
        let example = result.examples[0]
        XCTAssertEqual(example.ids.count, 20)
        XCTAssertEqual(example.ids.first, 1, "bos survives left truncation")
        XCTAssertEqual(try CharacterTokenizer().decode(example.ids), "ppppEND" + "STARTrrrrrrr")
        XCTAssertEqual(example.lossMask, Array(repeating: false, count: 8) + Array(repeating: true, count: 12))
        XCTAssertEqual(result.examples[1].ids.count, 6)
        XCTAssertEqual(result.truncation.examples, 2)
        XCTAssertEqual(result.truncation.promptsTruncated, 1)
        XCTAssertEqual(result.truncation.promptTokensRemoved, 34 - 8)
        XCTAssertEqual(result.truncation.responsesTruncated, 1)
        XCTAssertEqual(result.truncation.responseTokensRemoved, 36 - 12)
        XCTAssertTrue(result.truncation.description.contains("1 prompts left-truncated"), result.truncation.description)
    }

    func testPreference_promptTruncatedOnceAgainstTheLongerAnswer() throws {
        let encoder = try characters(20, 8)
        let pair = PreferencePair(prompt: Conversation(user: "abcdefghij"), chosen: "short", rejected: String(repeating: "x", count: 20))
        let result = try encoder.preferenceExamples([record(.preference(pair))])
        let example = result.examples[0]
        let chars = CharacterTokenizer()
        XCTAssertEqual(example.promptIDs, [1] + (try chars.encode("defghij")))
        XCTAssertEqual(example.chosenIDs, (try chars.encode("short")) + [2], "the short answer keeps its eos")
        XCTAssertEqual(example.rejectedIDs, try chars.encode(String(repeating: "x", count: 12)))
        XCTAssertEqual(example.chosenSequence.count, 14)
        XCTAssertEqual(example.rejectedSequence.count, 20)
        XCTAssertEqual(result.truncation.promptsTruncated, 1)
        XCTAssertEqual(result.truncation.promptTokensRemoved, 3)
        XCTAssertEqual(result.truncation.responsesTruncated, 1)
        XCTAssertEqual(result.truncation.responseTokensRemoved, 21 - 12)
    }

    func testPreference_refusesOtherRecordsNamingThem() throws {
        let encoder = try characters(20, 8)
        XCTAssertThrowsError(try encoder.preferenceExamples([record(.conversation(Conversation(user: "a", assistant: "b")), line: 4)])) { error in
            let e = error as? DatasetError
            XCTAssertEqual(e?.kind, .unsuitableRecord)
            XCTAssertEqual(e?.description, "mem.jsonl:4: record does not suit this step: expected a prompt/chosen/rejected record for reward-model or DPO training, got a conversation record")
        }
    }

    func testPrompts_leftTruncatedToMaxPromptLength() throws {
        let encoder = try characters(20, 6)
        let records = [record(.conversation(Conversation(turns: [turn(.user, "abcdefghij"), turn(.assistant, "ignored")]))),
                       record(.preference(PreferencePair(prompt: Conversation(user: "xy"), chosen: "c", rejected: "r")))]
        let result = try encoder.promptExamples(records)
        XCTAssertEqual(result.examples[0].ids, [1] + (try CharacterTokenizer().encode("fghij")))
        XCTAssertEqual(result.examples[1].ids, [1] + (try CharacterTokenizer().encode("xy")))
        XCTAssertEqual(result.truncation.promptsTruncated, 1)
    }

    func testText_packingChunksEverythingAndPerRecordCountsCuts() throws {
        let encoder = try characters(6, 3)
        let docs = ["abc", "defgh", "ij"].enumerated().map { record(.text(TextRecord(text: $1)), line: $0 + 1) }
        let packed = try encoder.textExamples(docs, packing: true)
        XCTAssertEqual(packed.examples.map(\.ids.count), [6, 6, 4])
        XCTAssertEqual(packed.examples.flatMap(\.ids).count, 5 + 7 + 4, "no token lost")
        XCTAssertEqual(packed.examples.map(\.source.line), [1, 2, 3], "each chunk names the record it starts in")
        XCTAssertTrue(packed.truncation.isEmpty)
        let single = try encoder.textExamples(docs, packing: false)
        XCTAssertEqual(single.examples.map(\.ids.count), [5, 6, 4])
        XCTAssertEqual(single.truncation.responsesTruncated, 1)
        XCTAssertEqual(single.truncation.responseTokensRemoved, 1)
    }

    // MARK: - A checkpoint template that refuses a record

    /// A record the checkpoint's template raises for is named by file and line, and skipped
    /// with skip_bad_records, as any bad record is.
    func testCheckpointTemplateRefusal_namesTheRecordAndIsSkippable() throws {
        let source = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
            + "{% for m in messages %}{{ m['content'] }}{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{% endfor %}"
        let template = try CheckpointChatTemplate(source: source, specialTokens: ["eos_token": "</s>"], origin: "chat_template.jinja")
        let records = [
            record(.conversation(Conversation(system: "S", user: "q", assistant: "a")), line: 1),
            record(.conversation(Conversation(user: "q", assistant: "a")), line: 2),
        ]
        let strict = ExampleEncoder(template: .checkpoint(template), tokenizer: CharacterTokenizer(), truncation: try TruncationRule(maxLength: 64))
        XCTAssertThrowsError(try strict.sftExamples(records)) { error in
            XCTAssertTrue("\(error)".hasPrefix("mem.jsonl:1: the chat template cannot render it. chat_template.jinja"), "\(error)")
            XCTAssertTrue("\(error)".contains("no system role"), "\(error)")
        }
        let lenient = ExampleEncoder(template: .checkpoint(template), tokenizer: CharacterTokenizer(), truncation: try TruncationRule(maxLength: 64),
                                     skipBadRecords: true)
        let encoded = try lenient.sftExamples(records)
        XCTAssertEqual(encoded.skipped.map(\.line), [1])
        XCTAssertEqual(encoded.examples.count, 1)
        // "q" then "a" + eos: the loss covers the answer and its end marker ("</s>" cut out as eos).
        XCTAssertEqual(encoded.examples[0].ids, [Int("q".unicodeScalars.first!.value) + 10, Int("a".unicodeScalars.first!.value) + 10, 2])
        XCTAssertEqual(encoded.examples[0].lossMask, [false, true, true])
    }
}
