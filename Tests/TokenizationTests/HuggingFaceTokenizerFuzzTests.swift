import Foundation
import Tokenization
import XCTest

/// 2000 random strings over the characters the split scanners tell apart, against a check of
/// the Rust library's ids for each (fuzz.json, made by Scripts/make-hf-tokenizer-fixtures).
final class HuggingFaceTokenizerFuzzTests: XCTestCase {
    struct Fuzz: Decodable {
        let lines: [String]
        /// Per tokenizer, per line: [number of ids, sum of (position + 1) * id mod 1e9+7].
        let checks: [String: [[Int]]]
    }

    func testRandomStrings_giveTheRustLibrarysIds() throws {
        let root = try XCTUnwrap(Bundle.module.resourcePath, "test resources") + "/Fixtures/hf"
        let fuzz = try JSONDecoder().decode(Fuzz.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/fuzz.json")))
        XCTAssertEqual(Set(fuzz.checks.keys), Set(HuggingFaceTokenizerFixtureTests.names))
        for (name, checks) in fuzz.checks.sorted(by: { $0.key < $1.key }) {
            let tokenizer = try HuggingFaceTokenizer(directory: root + "/" + name)
            XCTAssertEqual(checks.count, fuzz.lines.count)
            var failures = 0
            for (line, check) in zip(fuzz.lines, checks) {
                let ids = try tokenizer.encode(line)
                let sum = ids.enumerated().reduce(0) { ($0 + ($1.offset + 1) * $1.element) % 1_000_000_007 }
                if [ids.count, sum] != check {
                    failures += 1
                    if failures <= 3 { XCTFail("\(name): \(line.debugDescription): \(ids.count) ids \(ids), expected \(check[0])") }
                }
            }
            XCTAssertEqual(failures, 0, "\(name): strings with other ids than the Rust library's")
        }
    }
}
