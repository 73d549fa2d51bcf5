import Foundation
import Tensor
import Tokenization
import XCTest

/// A small mixed Chinese/English corpus: common characters many times, rare ones once each, and
/// the lines SentencePiece reads in its own way (CRLF, tabs, its meta pieces' text, an invalid
/// byte, an ideographic space, a line over the length limit).
enum CJKCorpus {
    static let common = Array("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等")
    static let english = ["the", "patient", "doctor", "medicine", "fever", "cough", "treatment", "blood", "test", "of"]
    /// Each appears exactly once in the corpus.
    static let rare: [Character] = ["龘", "齉", "爩", "麤", "鱻", "灪", "驫", "靐"]
    /// `TokenizerTrainer.maxSentenceBytes` for this corpus, so one line is skipped as too long.
    static let maxSentenceBytes = 600

    /// Writes the corpus (about 6 KB) to DIR/corpus.txt and returns its path.
    static func write(in dir: String) throws -> String {
        var rng = SplitMix64(seed: 5)
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        var lines: [String] = []
        for _ in 0..<120 {
            let words = (0..<6).map { _ -> String in
                rng.next() % 2 == 0 ? String((0..<(2 + Int(rng.next() % 4))).map { _ in pick(common) }) : pick(english)
            }
            lines.append(words.joined(separator: " "))
        }
        for (i, c) in rare.enumerated() { lines[i * 13] += String(c) }
        lines[3] += "\r"                    // CRLF: the "\r" is a character
        lines[5] += "\t结果"                // tabs are not counted
        lines[7] = "<s>" + lines[7] + "<0x41></s>"  // meta pieces' text is removed before counting
        lines[9] += "\u{3000}注意"          // the ideographic space is a character of its own
        lines.append(String(repeating: "長", count: 250))  // 750 bytes: skipped as too long
        var bytes = Data(lines.joined(separator: "\n").utf8)
        bytes.append(contentsOf: [0x0A, 0x61, 0xFF, 0x62, 0x0A])  // "a\xFFb": an invalid byte
        let path = "\(dir)/corpus.txt"
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }
}

final class TokenizerCoverageTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("spmcjk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private func trainer(_ corpus: String, vocab: Int, coverage: Double, type: TokenizerTrainer.ModelType = .bpe) -> TokenizerTrainer {
        var t = TokenizerTrainer(inputFiles: [corpus], vocabSize: vocab, modelType: type)
        t.characterCoverage = coverage
        t.maxSentenceBytes = CJKCorpus.maxSentenceBytes
        return t
    }

    private func vocabularyError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> VocabularySizeError? {
        do {
            try body()
            XCTFail("expected a vocabulary size error", file: file, line: line)
        } catch let e as VocabularySizeError {
            return e
        } catch {
            XCTFail("expected a vocabulary size error, got \(error)", file: file, line: line)
        }
        return nil
    }

    /// Characters seen once fall below a coverage of 0.99 (on a corpus this small, 0.9995 leaves
    /// out only one or two characters): they have no piece, are encoded as their UTF-8 bytes, and
    /// decode back exactly. At coverage 1.0 each gets a piece of its own; at the default, text
    /// round-trips too.
    func testRareCharacters_roundTripThroughByteFallback() throws {
        let corpus = try CJKCorpus.write(in: dir)
        let text = "患者 the patient 龘齉爩麤鱻灪驫靐 有发烧, fever 39.5°C, 😷 and 𠀋."
        var t = trainer(corpus, vocab: 420, coverage: TokenizerTrainer.defaultCharacterCoverage)
        let standard = try SentencePieceTokenizer(contentsOf: t.train(outputDirectory: "\(dir)/default"))
        XCTAssertEqual(standard.pieceCount, 420)
        XCTAssertEqual(try standard.decode(try standard.encode(text)), text)

        t.characterCoverage = 0.99
        let tok = try SentencePieceTokenizer(contentsOf: t.train(outputDirectory: "\(dir)/low"))
        XCTAssertEqual(tok.pieceCount, 420)
        XCTAssertEqual(try tok.decode(try tok.encode(text)), text)
        for c in CJKCorpus.rare {
            XCTAssertEqual(tok.id(ofPiece: String(c)), tok.unkID, "\(c) has a piece at coverage 0.99")
            let ids = try tok.encode(String(c))
            XCTAssertEqual(ids.count, 3, "\(c): one byte piece per UTF-8 byte")
            XCTAssertEqual(ids.map { tok.piece($0) ?? "" }, String(c).utf8.map { String(format: "<0x%02X>", $0) })
            XCTAssertEqual(try tok.decode(ids), String(c))
        }
        XCTAssertNotEqual(tok.id(ofPiece: "的"), tok.unkID, "a common character has a piece")

        t.characterCoverage = 1
        let full = try SentencePieceTokenizer(contentsOf: t.train(outputDirectory: "\(dir)/full"))
        XCTAssertEqual(try full.decode(try full.encode(text)), text)
        for c in CJKCorpus.rare {
            XCTAssertNotEqual(full.id(ofPiece: String(c)), full.unkID, "\(c) has no piece at coverage 1.0")
            XCTAssertEqual(try full.encode(String(c)).count, 1)
        }
    }

    /// Our count of the characters SentencePiece keeps agrees with SentencePiece on a corpus with
    /// each line it reads in its own way: the minimum trains to exactly that many pieces, one
    /// less is refused, and the check before training and SentencePiece's own report (read back
    /// when the check is off) give the same error.
    func testMinimumVocabulary_agreesWithSentencePiece() throws {
        let corpus = try CJKCorpus.write(in: dir)
        for coverage in [1.0, 0.9995, 0.99] {
            var t = trainer(corpus, vocab: 0, coverage: coverage)
            let minimum = t.minimumVocabSize(try t.alphabet())
            t.vocabSize = minimum
            let tok = try SentencePieceTokenizer(contentsOf: t.train(outputDirectory: "\(dir)/min"))
            XCTAssertEqual(tok.pieceCount, minimum, "coverage \(coverage)")

            t.vocabSize = minimum - 1
            let checked = vocabularyError { try t.train(outputDirectory: "\(dir)/x") }
            t.checksCharactersFirst = false
            let reported = vocabularyError { try t.train(outputDirectory: "\(dir)/x") }
            XCTAssertEqual(checked?.limit, .tooSmall)
            XCTAssertEqual(checked?.minimum, minimum)
            XCTAssertEqual(checked, reported, "coverage \(coverage): our check and SentencePiece's report differ")
        }
        // A lower coverage keeps fewer characters: at 0.99 the rare ones go to bytes.
        let all = try trainer(corpus, vocab: 0, coverage: 1).alphabet()
        XCTAssertLessThan(all.keptCharacters(coverage: 0.9995), all.keptCharacters(coverage: 1))
        XCTAssertLessThanOrEqual(all.keptCharacters(coverage: 0.99), all.keptCharacters(coverage: 1) - CJKCorpus.rare.count)
    }

    /// A size below the minimum names the limit, the least size and both options. When a
    /// coverage SentencePiece accepts would fit, it is named, and it does train at the size asked
    /// for; when none would, the least size at the lowest coverage is named instead.
    func testVocabularyTooSmall_saysRangeAndOptions() throws {
        let corpus = try CJKCorpus.write(in: dir)
        var t = trainer(corpus, vocab: 300, coverage: 1)
        let alphabet = try t.alphabet()
        let minimum = t.minimumVocabSize(alphabet)
        guard let e = vocabularyError({ try t.train(outputDirectory: "\(dir)/x") }) else { return }
        XCTAssertEqual(e.limit, .tooSmall)
        XCTAssertEqual(e.keptCharacters, minimum - 260)
        XCTAssertNil(e.fittingCoverage, "40 of \(alphabet.frequencies.count) characters is below 98% of the text")
        let lowest = alphabet.keptCharacters(coverage: 0.98) + 260
        XCTAssertEqual(e.minimumAtLowestCoverage, lowest)
        for part in ["--vocab-size 300 is too small", "at --character-coverage 1.0 it keeps \(minimum - 260) distinct characters",
                     "at least \(minimum) pieces", "256 byte pieces", "4 special pieces", "Use --vocab-size \(minimum) or more",
                     "even --character-coverage 0.98", "needs \(lowest)"] {
            XCTAssertTrue(e.description.contains(part), "\(part) not in: \(e.description)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/x/tokenizer.model"))

        t.vocabSize = minimum - 5
        guard let near = vocabularyError({ try t.train(outputDirectory: "\(dir)/x") }) else { return }
        let suggested = try XCTUnwrap(near.fittingCoverage, near.description)
        XCTAssertTrue(suggested >= 0.98 && suggested < 1, "\(suggested)")
        let kept = try XCTUnwrap(near.charactersAtFittingCoverage)
        XCTAssertLessThanOrEqual(kept, minimum - 5 - 260)
        XCTAssertTrue(near.description.contains("or --character-coverage \(suggested) or lower (keeps \(kept) characters"), near.description)
        t.characterCoverage = suggested
        XCTAssertEqual(try SentencePieceTokenizer(contentsOf: t.train(outputDirectory: "\(dir)/fit")).pieceCount, minimum - 5)
    }

    /// A size beyond what the corpus yields gives the range from the minimum to SentencePiece's
    /// maximum, and the maximum does train, for both model types.
    func testVocabularyTooLarge_saysRangeAndTrainsAtTheMaximum() throws {
        let corpus = try CJKCorpus.write(in: dir)
        for type in TokenizerTrainer.ModelType.allCases {
            var t = trainer(corpus, vocab: 6000, coverage: 0.9995, type: type)
            let minimum = t.minimumVocabSize(try t.alphabet())
            guard let e = vocabularyError({ try t.train(outputDirectory: "\(dir)/x") }) else { return }
            XCTAssertEqual(e.limit, .tooLarge)
            let maximum = try XCTUnwrap(e.maximum)
            XCTAssertGreaterThan(maximum, minimum)
            XCTAssertLessThan(maximum, 6000)
            for part in ["--vocab-size 6000 is too large", "at most \(maximum) pieces", "--character-coverage 0.9995",
                         "Use --vocab-size from \(minimum) to \(maximum)"] {
                XCTAssertTrue(e.description.contains(part), "\(type): \(part) not in: \(e.description)")
            }
            t.vocabSize = maximum
            XCTAssertEqual(try SentencePieceTokenizer(contentsOf: t.train(outputDirectory: "\(dir)/\(type)")).pieceCount, maximum)
        }
    }

    func testCharacterCoverage_outsideSentencePiecesRangeIsRefused() throws {
        let corpus = try CJKCorpus.write(in: dir)
        for bad in [0, 0.97, 1.5, Double.nan, Double.infinity] {
            XCTAssertThrowsError(try trainer(corpus, vocab: 500, coverage: bad).train(outputDirectory: "\(dir)/x")) {
                XCTAssertTrue("\($0)".contains("--character-coverage"), "\($0)")
            }
        }
    }
}
