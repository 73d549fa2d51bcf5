import Foundation
import Tokenization
import Synchronization
import XCTest

/// Our tokenizer against the ids, decodes and special-token wrapping the Rust `tokenizers`
/// library (and transformers) gave for tokenizers trained in the layout of each family
/// (Scripts/make-hf-tokenizer-fixtures).
final class HuggingFaceTokenizerFixtureTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_special: [Int]
        let ids_split_special: [Int]
        let decoded: String
        let decoded_keep: String
    }

    struct Expected: Decodable {
        let tokenizer: String
        let cases: [Case]
    }

    static let names = ["llama3", "qwen2", "gpt2", "bytefb", "metaspace"]

    static func directory(_ name: String) throws -> String {
        try XCTUnwrap(Bundle.module.resourcePath, "test resources") + "/Fixtures/hf/\(name)"
    }

    static func load(_ name: String) throws -> (HuggingFaceTokenizer, Expected) {
        let dir = try directory(name)
        let tokenizer = try HuggingFaceTokenizer(directory: dir)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))
        return (tokenizer, try JSONDecoder().decode(Expected.self, from: data))
    }

    /// Every corpus line, every fixture: the same ids as the Rust library, the first difference
    /// printed when not.
    func testEncode_givesTheRustLibrarysIds() throws {
        for name in Self.names {
            let (tokenizer, expected) = try Self.load(name)
            XCTAssertGreaterThan(expected.cases.count, 40)
            for c in expected.cases {
                let ids = try tokenizer.encode(c.text)
                if ids != c.ids {
                    let at = zip(ids, c.ids).enumerated().first { $1.0 != $1.1 }?.offset ?? min(ids.count, c.ids.count)
                    XCTFail("\(name): \(c.text.debugDescription): ids differ at \(at): got \(ids), expected \(c.ids)")
                }
            }
        }
    }

    /// Special tokens written in the text encoded as text, as the Rust library's
    /// `encode_special_tokens` does.
    func testEncodeNotMatchingSpecialTokens_givesTheRustLibrarysIds() throws {
        for name in Self.names {
            let (tokenizer, expected) = try Self.load(name)
            for c in expected.cases {
                XCTAssertEqual(try tokenizer.encode(c.text, matchingSpecialTokens: false), c.ids_split_special, "\(name): \(c.text.debugDescription)")
            }
        }
        let llama = try HuggingFaceTokenizer(directory: try Self.directory("llama3"))
        XCTAssertFalse(try llama.encode("<|end_of_text|>", matchingSpecialTokens: false).contains(llama.eosID))
    }

    func testEncodeAddingSpecialTokens_wrapsAsTransformersDoes() throws {
        for name in Self.names {
            let (tokenizer, expected) = try Self.load(name)
            for c in expected.cases {
                XCTAssertEqual(try tokenizer.encodeAddingSpecialTokens(c.text), c.ids_special, "\(name): \(c.text.debugDescription)")
            }
        }
    }

    func testDecode_skippingAndKeepingSpecialTokens() throws {
        for name in Self.names {
            let (tokenizer, expected) = try Self.load(name)
            for c in expected.cases {
                XCTAssertEqual(try tokenizer.decode(c.ids), c.decoded, "\(name): \(c.text.debugDescription)")
                XCTAssertEqual(try tokenizer.decode(c.ids, skipSpecialTokens: false), c.decoded_keep, "\(name): \(c.text.debugDescription)")
            }
        }
    }

    /// Byte-level tokenizers lose nothing: text -> ids -> text is the text (NFC-normalized for
    /// Qwen2), special tokens included when they are kept. (Not the GPT-2 fixture: its added
    /// tokens swallow whitespace, and "Café" as a token decodes through the byte alphabet.)
    func testRoundTrip_byteLevelTokenizersGiveTheTextBack() throws {
        for name in ["llama3", "qwen2"] {
            let (tokenizer, expected) = try Self.load(name)
            for c in expected.cases {
                let back = try tokenizer.decode(try tokenizer.encode(c.text), skipSpecialTokens: false)
                let text = name == "qwen2" ? c.text.precomposedStringWithCanonicalMapping : c.text
                XCTAssertEqual(Array(back.unicodeScalars), Array(text.unicodeScalars), "\(name): \(c.text.debugDescription)")
            }
        }
    }

    func testSpecialIDs_comeFromTheConfigAndThePostProcessor() throws {
        let llama = try HuggingFaceTokenizer(directory: try Self.directory("llama3"))
        XCTAssertEqual(llama.bosID, llama.id(ofToken: "<|begin_of_text|>"))
        XCTAssertEqual(llama.eosID, llama.id(ofToken: "<|end_of_text|>"))
        XCTAssertEqual(llama.padID, -1)
        XCTAssertTrue(llama.addsBOS)
        XCTAssertFalse(llama.addsEOS)
        XCTAssertTrue(llama.isSpecial(llama.bosID))
        XCTAssertFalse(llama.isSpecial(try llama.encode("hello")[0]))
        XCTAssertEqual(llama.token(llama.bosID), "<|begin_of_text|>")
        XCTAssertNil(llama.token(llama.pieceCount))
        XCTAssertEqual(llama.config?.chatTemplate, "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}")

        let qwen = try HuggingFaceTokenizer(directory: try Self.directory("qwen2"))
        XCTAssertEqual(qwen.bosID, -1)
        XCTAssertEqual(qwen.eosID, qwen.id(ofToken: "<|im_end|>"))
        XCTAssertEqual(qwen.padID, qwen.id(ofToken: "<|endoftext|>"))
        XCTAssertFalse(qwen.addsBOS)
        XCTAssertFalse(qwen.addsEOS)
        XCTAssertTrue(qwen.config?.chatTemplate?.hasPrefix("{% for message in messages %}") ?? false)
        XCTAssertEqual(qwen.pieceCount, 1150)
        XCTAssertNil(qwen.config?.modelMaxLength)  // transformers' 1e30 "no limit"

        // The config asks for eos, but the file's post-processor decides (as transformers 5 does).
        let gpt2 = try HuggingFaceTokenizer(directory: try Self.directory("gpt2"))
        XCTAssertEqual(gpt2.config?.addEOSToken, true)
        XCTAssertFalse(gpt2.addsEOS)
        // An added token whose text is in the vocabulary takes that id, whatever the file says
        // (99999), as the Rust library does; so the vocabulary does not grow to 100,000.
        XCTAssertEqual(gpt2.pieceCount, 1127)
        let er = try XCTUnwrap(gpt2.id(ofToken: "er"))
        XCTAssertLessThan(er, 1127)
        XCTAssertEqual(try gpt2.encode("er"), [er])
    }

    /// Without its config a tokenizer still loads; bos then comes from the post-processor.
    func testLoad_withoutConfig() throws {
        let llama = try HuggingFaceTokenizer(tokenizerFile: try Self.directory("llama3") + "/tokenizer.json", config: nil)
        XCTAssertEqual(llama.bosID, llama.id(ofToken: "<|begin_of_text|>"))
        XCTAssertEqual(llama.eosID, -1)
        XCTAssertTrue(llama.addsBOS)
    }

    /// A lone surrogate in a JSON string reaches the tokenizer as U+FFFD (Datasets' JSONParser
    /// replaces it; the Rust library refuses the lone surrogate itself), so that is the text the
    /// fixture encodes; the replacement character survives the round trip.
    func testReplacementCharacter_encodesAsTheRustLibraryDoes() throws {
        for name in ["llama3", "qwen2", "gpt2"] {
            let (tokenizer, expected) = try Self.load(name)
            let c = try XCTUnwrap(expected.cases.first { $0.text.hasPrefix("a\u{FFFD}b") })
            XCTAssertEqual(try tokenizer.encode(c.text), c.ids)
            XCTAssertEqual(try tokenizer.decode(c.ids), c.text)
        }
    }

    /// One instance shared by threads gives each the ids it gives alone (the word cache is shared).
    func testEncode_fromSeveralThreadsAtOnce() throws {
        let (tokenizer, expected) = try Self.load("qwen2")
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for c in expected.cases where (try? tokenizer.encode(c.text)) != c.ids {
                failures.withLock { $0 += 1 }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }
}
