import Foundation
import XCTest

/// `rlhf bench digest` on a model of known size: it digests every tensor of it, and says how long
/// that took per million parameters (the figure Docs/benchmarks.md reports).
final class BenchCLITests: XCTestCase {
    func testDigest_coversEveryParameterOfTheModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 64, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": false,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        let made = try CLIProcess.run(["init", "--config", "\(dir)/config.json", "--out", "\(dir)/m", "--seed", "1"])
        made.assertSucceeded("init")
        let r = try CLIProcess.run(["bench", "digest", "--model", "\(dir)/m", "--no-peak", "--repeats", "2"])
        r.assertSucceeded("bench digest")
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        // Embeddings 64x32, per layer 4 attention projections (q 32x32, k and v 16x32, o 32x32),
        // 3 MLP matrices 64x32 and 2 norms of 32, the final norm, the LM head 64x32.
        let perLayer = 32 * 32 + 2 * 16 * 32 + 32 * 32 + 3 * 64 * 32 + 2 * 32
        XCTAssertEqual(line["params"] as? Int, 64 * 32 + 2 * perLayer + 32 + 64 * 32)
        XCTAssertEqual(line["tensors"] as? Int, 1 + 2 * 9 + 1 + 1)
        let perMillion = try XCTUnwrap(line["ms_per_million_params"] as? Double)
        XCTAssertTrue(perMillion.isFinite && perMillion > 0, "\(perMillion)")
        XCTAssertEqual(line["bench"] as? String, "digest")
    }
}
