import CBLAS
import Foundation
import Messaging
import Tensor
import Tokenization
import XCTest

/// Each native library, exercised for real from Swift.
final class NativeLibraryTests: XCTestCase {
    func testSgemm_matchesNaiveLoop() {
        let check = BLAS.selfCheck(M: 73, N: 41, K: 129, seed: 7)
        XCTAssertTrue(check.passed, "sgemm on kernel \(BLAS.coreName) differs from the naive loop by \(check.maxAbsError)")
        XCTAssertLessThan(check.maxAbsError, 1e-4)
    }

    /// `rlhf env`'s verdict fails on a NaN or an infinity anywhere in the product, wherever it is
    /// (a reduction with `max` would skip a NaN that is not first).
    func testSelfCheck_failsOnNaNAndInfinity() {
        let good: [Float] = [1, -2, 3, 0.5]
        XCTAssertTrue(BLAS.SelfCheck(computed: good, reference: good).passed)
        XCTAssertEqual(BLAS.SelfCheck(computed: [1, -2, 3.00002, 0.5], reference: good).maxAbsError, 2e-5, accuracy: 1e-6)
        XCTAssertFalse(BLAS.SelfCheck(computed: [1, -2, 3.1, 0.5], reference: good).passed)
        for bad in [Float.nan, .infinity, -.infinity] {
            for i in [0, 2, 3] {
                var computed = good
                computed[i] = bad
                XCTAssertFalse(BLAS.SelfCheck(computed: computed, reference: good).passed, "\(bad) at \(i) in sgemm's product")
                XCTAssertFalse(BLAS.SelfCheck(computed: good, reference: computed).passed, "\(bad) at \(i) in the naive product")
                XCTAssertEqual(BLAS.SelfCheck(computed: computed, reference: good).maxAbsError, .infinity)
            }
        }
        XCTAssertFalse(BLAS.SelfCheck(computed: [Float](repeating: .nan, count: 4), reference: good).passed)
        XCTAssertFalse(BLAS.SelfCheck(computed: [1, -2, 3], reference: good).passed, "sizes differ")
        XCTAssertFalse(BLAS.SelfCheck(computed: [Float](repeating: .infinity, count: 4), reference: [Float](repeating: .infinity, count: 4)).passed)
    }

    func testSgemm_transposedAndStridedOperands() {
        // C(3x2) = A^T(3x4) * B(4x2) where A is stored (4x3) inside a row stride of 5.
        var rng = SplitMix64(seed: 3)
        let a = (0..<20).map { _ in rng.nextFloat() }
        let b = (0..<8).map { _ in rng.nextFloat() }
        var c = [Float](repeating: 0, count: 6)
        BLAS.sgemm(transA: true, M: 3, N: 2, K: 4, A: a, lda: 5, B: b, C: &c)
        for i in 0..<3 {
            for j in 0..<2 {
                var acc: Float = 0
                for k in 0..<4 { acc += a[k * 5 + i] * b[k * 2 + j] }
                XCTAssertEqual(c[i * 2 + j], acc, accuracy: 1e-5)
            }
        }
    }

    func testZeroMQ_inprocRoundTrip() throws {
        let ctx = try ZMQContext()
        let server = try ZMQSocket(ctx, .pair)
        try server.bind("inproc://native-test")
        let client = try ZMQSocket(ctx, .pair)
        try client.connect("inproc://native-test")
        try client.send([Array("hello".utf8), [1, 2, 3]])
        try server.setReceiveTimeout(milliseconds: 5000)
        let got = try XCTUnwrap(try server.receive())
        XCTAssertEqual(got, [Array("hello".utf8), [1, 2, 3]])
    }

    func testZeroMQ_tcpLoopbackRoundTrip() throws {
        let ctx = try ZMQContext()
        let rep = try ZMQSocket(ctx, .rep)
        try rep.bind("tcp://127.0.0.1:*")
        let endpoint = try rep.boundEndpoint()
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        let req = try ZMQSocket(ctx, .req)
        try req.connect(endpoint)
        try rep.setReceiveTimeout(milliseconds: 5000)
        try req.setReceiveTimeout(milliseconds: 5000)
        let payload = [UInt8](repeating: 0xAB, count: 100_000)
        try req.send([Array("ping".utf8), payload])
        let got = try XCTUnwrap(try rep.receive())
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got[1], payload)
        try rep.send([Array("pong".utf8)])
        XCTAssertEqual(try req.receive(), [Array("pong".utf8)])
    }

    func testSentencePiece_trainsAndRoundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let words = ["the", "cat", "sat", "on", "mat", "dog", "ran", "far", "away", "quick", "brown", "fox"]
        var rng = SplitMix64(seed: 11)
        var lines: [String] = []
        for _ in 0..<2000 {
            lines.append((0..<8).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " "))
        }
        let corpus = "\(dir)/corpus.txt"
        try lines.joined(separator: "\n").write(toFile: corpus, atomically: true, encoding: .utf8)
        let trainer = TokenizerTrainer(inputFiles: [corpus], vocabSize: 300, modelType: .bpe)
        let path = try trainer.train(outputDirectory: dir)
        let tok = try SentencePieceTokenizer(contentsOf: path)
        XCTAssertEqual(tok.pieceCount, 300)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.eosID, 2)
        XCTAssertEqual(tok.padID, 3)
        let text = "the quick brown fox ran away, Zürich 42!"
        let ids = try tok.encode(text)
        XCTAssertFalse(ids.isEmpty)
        XCTAssertLessThan(ids.count, text.utf8.count)  // merges happened
        XCTAssertEqual(try tok.decode(ids), text)      // byte fallback covers unseen characters
        XCTAssertThrowsError(try tok.decode([999_999]))
        XCTAssertThrowsError(try SentencePieceTokenizer(contentsOf: "\(dir)/missing.model"))
    }
}

final class TokenizerWhitespaceTests: XCTestCase {
    /// Newlines and repeated spaces survive encode/decode (chat templates depend on them).
    func testWhitespace_roundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spmws-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = (0..<500).map { "<|im_start|>user\nline \($0)  with  spaces\n<|im_end|>" }
        try lines.joined(separator: "\n").write(toFile: "\(dir)/c.txt", atomically: true, encoding: .utf8)
        let tok = try SentencePieceTokenizer(contentsOf: try TokenizerTrainer(inputFiles: ["\(dir)/c.txt"], vocabSize: 320).train(outputDirectory: dir))
        let text = "<|im_start|>user\n  two  spaces\n\nand a blank line<|im_end|>\n"
        XCTAssertEqual(try tok.decode(try tok.encode(text)), text)
    }
}
