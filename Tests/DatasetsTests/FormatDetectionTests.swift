import Datasets
import Tokenization
import XCTest

/// Each format is detected from its fields and normalized.
final class FormatDetectionTests: XCTestCase {
    var dir: ScratchDirectory!
    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir.remove() }

    private func detected(_ path: String) throws -> DatasetFormat {
        try XCTUnwrap(DatasetReader().read(path).files.first?.format)
    }

    func testPreference_dahoasPromptWithMarkersBecomesTurns() throws {
        let path = try dir.write("rm-static.json", """
        [
          {"prompt": "\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Capital of France?\\n\\nAssistant:",
           "chosen": " Paris.", "rejected": " London."}
        ]
        """)
        XCTAssertEqual(try detected(path), .preference)
        let pair = try XCTUnwrap(readRecords(path).first?.pair)
        XCTAssertEqual(pair.prompt, Conversation(turns: [turn(.user, "Hi"), turn(.assistant, "Hello"), turn(.user, "Capital of France?")]))
        XCTAssertEqual(pair.chosen, "Paris.")
        XCTAssertEqual(pair.rejected, "London.")
    }

    func testPreference_hhRLHFWithoutPromptTakesPromptFromChosen() throws {
        let path = try dir.writeLines("hh.jsonl", [
            #"{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello there", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away"}"#,
        ])
        let pair = try XCTUnwrap(readRecords(path).first?.pair)
        XCTAssertEqual(pair.prompt, Conversation(user: "Hi"))
        XCTAssertEqual(pair.chosen, "Hello there")
        XCTAssertEqual(pair.rejected, "Go away")
    }

    func testPreference_medicalGPTFieldNamesAndConversationalAnswers() throws {
        let path = try dir.writeLines("rm.jsonl", [
            #"{"question": "Q", "response_chosen": "good", "response_rejected": "bad", "system": "S"}"#,
            #"{"chosen": [{"role": "user", "content": "Q2"}, {"role": "assistant", "content": "yes"}], "rejected": [{"role": "user", "content": "Q2"}, {"role": "assistant", "content": "no"}]}"#,
        ])
        let records = try readRecords(path)
        XCTAssertEqual(records[0].pair, PreferencePair(prompt: Conversation(system: "S", user: "Q"), chosen: "good", rejected: "bad"))
        XCTAssertEqual(records[1].pair, PreferencePair(prompt: Conversation(user: "Q2"), chosen: "yes", rejected: "no"))
    }

    func testPromptResponse_detectedWithTrlAndQueryAliases() throws {
        let path = try dir.writeLines("pr.jsonl", [
            #"{"prompt": "Say hi", "response": "hi"}"#,
            #"{"query": "Say bye", "completion": "  bye  "}"#,
        ])
        XCTAssertEqual(try detected(path), .promptResponse)
        let records = try readRecords(path)
        XCTAssertEqual(records[0].conversation, Conversation(user: "Say hi", assistant: "hi"))
        XCTAssertEqual(records[1].conversation, Conversation(user: "Say bye", assistant: "bye"))
    }

    func testMessages_multiTurnWithSystem() throws {
        let path = try dir.writeLines("chat.jsonl", [
            #"{"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}"#,
        ])
        XCTAssertEqual(try detected(path), .messages)
        XCTAssertEqual(try readRecords(path).first?.conversation,
                       Conversation(system: "Be kind.", turns: [turn(.user, "a"), turn(.assistant, "b"), turn(.user, "c"), turn(.assistant, "d")]))
    }

    func testShareGPT_humanGptSystemAndUserAssistantRoles() throws {
        let path = try dir.writeLines("sharegpt.jsonl", [
            #"{"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}"#,
            #"{"conversations": [{"from": "user", "value": "q2"}, {"from": "assistant", "value": "a2"}]}"#,
        ])
        XCTAssertEqual(try detected(path), .sharegpt)
        let records = try readRecords(path)
        XCTAssertEqual(records[0].conversation, Conversation(system: "S", user: "q", assistant: "a"))
        XCTAssertEqual(records[1].conversation, Conversation(user: "q2", assistant: "a2"))
    }

    func testAlpaca_emptyAndMissingInputAndHistory() throws {
        let path = try dir.write("alpaca.json", """
        [
          {"instruction": "Translate", "input": "chat", "output": "cat"},
          {"instruction": "Name a color", "input": "", "output": "red"},
          {"instruction": "And another?", "output": "blue", "history": [["Name a color", "red"]]}
        ]
        """)
        XCTAssertEqual(try detected(path), .alpaca)
        let records = try readRecords(path)
        XCTAssertEqual(records[0].conversation, Conversation(user: "Translate\nchat", assistant: "cat"))
        XCTAssertEqual(records[1].conversation, Conversation(user: "Name a color", assistant: "red"))
        XCTAssertEqual(records[2].conversation?.turns, [turn(.user, "Name a color"), turn(.assistant, "red"),
                                                        turn(.user, "And another?"), turn(.assistant, "blue")])
    }

    func testText_andPromptOnly() throws {
        let text = try dir.writeLines("pt.jsonl", [#"{"text": "Once upon a time."}"#])
        XCTAssertEqual(try detected(text), .text)
        XCTAssertEqual(try readRecords(text).first?.textRecord, TextRecord(text: "Once upon a time."))
        let prompts = try dir.writeLines("prompts.jsonl", [#"{"prompt": "Write a poem."}"#])
        XCTAssertEqual(try detected(prompts), .prompt)
        XCTAssertEqual(try readRecords(prompts).first?.conversation, Conversation(user: "Write a poem."))
    }

    func testJSON_objectWithDataArrayAndJSONLinesNamedJSON() throws {
        let wrapped = try dir.write("wrapped.json", #"{"version": 1, "data": [{"text": "a"}, {"text": "b"}]}"#)
        XCTAssertEqual(try readRecords(wrapped).count, 2)
        // datasets.Dataset.to_json writes JSON lines under a .json name.
        let lines = try dir.writeLines("hf.json", [#"{"text": "a"}"#, #"{"text": "b"}"#, #"{"text": "c"}"#])
        XCTAssertEqual(try readRecords(lines).map(\.source.line), [1, 2, 3])
    }

    func testJSONArray_recordsKnowTheLineTheyStartOn() throws {
        let path = try dir.write("pretty.json", """
        [
          {
            "text": "first"
          },
          {"text": "second"},

          {"text": "third"}
        ]
        """)
        let records = try readRecords(path)
        XCTAssertEqual(records.map(\.source.line), [2, 5, 7])
        XCTAssertEqual(records.map(\.source.record), [1, 2, 3])
    }

    func testJSONL_blankLinesIgnoredAndLineNumbersExact() throws {
        let path = try dir.write("gaps.jsonl", "\n{\"text\": \"a\"}\n\n   \n{\"text\": \"b\"}\r\n")
        XCTAssertEqual(try readRecords(path).map(\.source.line), [2, 5])
    }

    func testDirectory_readsDataFilesSortedByNameEachWithItsOwnFormat() throws {
        try dir.writeLines("b.jsonl", [#"{"text": "from b"}"#])
        try dir.writeLines("a.jsonl", [#"{"prompt": "p", "response": "r"}"#])
        try dir.write("notes.txt", "ignored")
        let set = try DatasetReader().read(dir.path)
        XCTAssertEqual(set.files.map { ($0.path as NSString).lastPathComponent }, ["a.jsonl", "b.jsonl"])
        XCTAssertEqual(set.files.map(\.format), [.promptResponse, .text])
        XCTAssertEqual(set.records.count, 2)
    }

    func testFormatOverride_byNameAndAlias() throws {
        XCTAssertEqual(try DatasetFormat(named: "ShareGPT"), .sharegpt)
        XCTAssertEqual(try DatasetFormat(named: "dpo"), .preference)
        XCTAssertEqual(try DatasetFormat(named: "prompt_response"), .promptResponse)
        XCTAssertThrowsError(try DatasetFormat(named: "parquet")) { error in
            XCTAssertTrue("\(error)".contains("sharegpt"), "\(error)")
        }
        let path = try dir.writeLines("x.jsonl", [#"{"prompt": "p", "chosen": "c", "rejected": "r"}"#])
        let set = try DatasetReader(format: .prompt).read(path)
        XCTAssertEqual(set.files.first?.formatWasNamed, true)
        XCTAssertEqual(set.records.first?.conversation, Conversation(user: "p"))
    }

    func testJSONParser_escapesUnicodeAndSurrogatePairs() throws {
        let path = try dir.writeLines("esc.jsonl", [#"{"text": "a\"b\\c\nd\u00e9\ud83d\ude00 \/ é"}"#])
        XCTAssertEqual(try readRecords(path).first?.textRecord?.text, "a\"b\\c\ndé😀 / é")
    }
}
