import Foundation
import Model
import TestSupport
import XCTest

final class CLITests: XCTestCase {
    var fixture: String { "\(CLIProcess.repoRoot)/Tests/ModelTests/Fixtures/llama-gqa-f32" }

    /// With OPENBLAS_CORETYPE unset the tool picks a kernel from the CPU's features (re-executing
    /// itself so OpenBLAS sees it at load time), and that kernel multiplies correctly.
    func testFastKernel_isChosenByDefaultAndComputesRight() throws {
        let r = try CLIProcess.run(["env", "--no-peak"], removing: ["OPENBLAS_CORETYPE", "RLHF_NO_REEXEC"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try r.json()
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if flags.contains(" avx512f ") && flags.contains(" avx512bw ") && flags.contains(" avx512vl ") && flags.contains(" avx512dq ") {
            XCTAssertEqual(j["openblas_coretype_env"] as? String, "SkylakeX")
            XCTAssertEqual(j["blas_core"] as? String, "SkylakeX")
        } else if flags.contains(" avx2 ") {
            XCTAssertEqual(j["blas_core"] as? String, "Haswell")
        }
        XCTAssertEqual(j["sgemm_correct"] as? Bool, true, "\(j)")
    }

    /// A user's own setting is left alone.
    func testUserCoreType_isRespected() throws {
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_CORETYPE"] = "Haswell"
        let r = try CLIProcess.run(["env", "--no-peak"], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try r.json()["blas_core"] as? String, "Haswell")
        XCTAssertEqual(try r.json()["sgemm_correct"] as? Bool, true)
    }

    func testLogprobs_matchTransformersReference() throws {
        let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(fixture)/reference.json"))) as! [String: Any]
        let c = (ref["cases"] as! [[String: Any]])[1]
        let ids = (c["ids"] as! [Int]).map(String.init).joined(separator: " ")
        let r = try CLIProcess.run(["logprobs", "--model", fixture, "--ids", ids])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try r.json()
        let logprobs = Closeness(try XCTUnwrap(j["logprobs"] as? [Double]), c["logprobs"] as! [Double], atol: 1e-4)
        XCTAssertTrue(logprobs.passed, "log-probs against transformers: \(logprobs)")
        let last = Closeness(try XCTUnwrap(j["last_logits"] as? [Double]), c["last_logits"] as! [Double], atol: 1e-4)
        XCTAssertTrue(last.passed, "last logits against transformers: \(last)")
    }

    func testGenerateGreedy_matchesTransformers() throws {
        let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(fixture)/reference.json"))) as! [String: Any]
        for g in ref["generation"] as! [[String: Any]] {
            let prompt = (g["prompt"] as! [Int]).map(String.init).joined(separator: " ")
            let r = try CLIProcess.run(["generate", "--model", fixture, "--ids", prompt, "--max-new-tokens", "\(g["max_new_tokens"] as! Int)",
                                        "--greedy", "--ignore-eos"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try r.json()["ids"] as? [Int], g["ids"] as? [Int])
        }
    }

    func testSampling_isSeeded() throws {
        let args = ["generate", "--model", fixture, "--ids", "1 2 3", "--max-new-tokens", "12", "--temperature", "1.2",
                    "--top-k", "20", "--top-p", "0.9", "--ignore-eos"]
        let a = try CLIProcess.run(args + ["--seed", "5"]), b = try CLIProcess.run(args + ["--seed", "5"])
        let c = try CLIProcess.run(args + ["--seed", "6"])
        for r in [a, b, c] {
            r.assertSucceeded("generate")
            XCTAssertEqual((try r.json()["ids"] as? [Int])?.count, 3 + 12, r.stdout)
        }
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertNotEqual(a.stdout, c.stdout)
    }

    func testErrors_nameTheProblem() throws {
        var r = try CLIProcess.run(["logprobs", "--model", fixture, "--ids", "1 96"])
        r.assertRefused("id 96", "vocab_size 96")
        r = try CLIProcess.run(["generate", "--model", fixture, "--ids", "1 200", "--max-new-tokens", "3"])
        r.assertRefused("id 200", "vocab_size 96")
        r = try CLIProcess.run(["logprobs", "--model", "/nonexistent/model", "--ids", "1"])
        r.assertRefused("/nonexistent/model")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.copyItem(atPath: "\(fixture)/config.json", toPath: "\(tmp)/config.json")
        r = try CLIProcess.run(["logprobs", "--model", tmp, "--ids", "1"])
        r.assertRefused(tmp, "model.safetensors")
    }

    /// `rlhf init` writes the model `Llama(config).initializeRandom(seed:std:)` makes, under the
    /// config it was given: loaded back, the configuration is the input's and every weight has
    /// the same bits; `rlhf generate` on it gives the greedy tokens of that in-memory model.
    func testInitThenLoad_roundTrips() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("init-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        var r = try CLIProcess.run(["init", "--config", "\(fixture)/config.json", "--out", tmp, "--seed", "4", "--std", "0.3"])
        r.assertSucceeded("init")
        let config = try LlamaConfig.load(contentsOf: "\(fixture)/config.json")
        let expected = Llama(config: config)
        expected.initializeRandom(seed: 4, std: 0.3)
        XCTAssertEqual(try r.json()["parameters"] as? Int, expected.parameterCount)
        let loaded = try Llama.load(directory: tmp)
        XCTAssertEqual(loaded.config, config)
        let a = loaded.parameters.array, b = expected.parameters.array
        XCTAssertTrue(a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }, "the weights init wrote differ")
        let other = Llama(config: config)
        other.initializeRandom(seed: 5, std: 0.3)
        XCTAssertNotEqual(other.parameters.array, a, "the seed must matter")

        r = try CLIProcess.run(["generate", "--model", tmp, "--ids", "1 2", "--max-new-tokens", "6", "--ignore-eos"])
        r.assertSucceeded("generate")
        let greedy = try Generator(model: expected).generate(prompts: [[1, 2]], maxNewTokens: 6).newTokens[0]
        XCTAssertEqual(try r.json()["ids"] as? [Int], [1, 2] + greedy)
    }
}

final class TokenizerCLITests: XCTestCase {
    /// `rlhf tokenizer train`, then a model whose vocabulary matches it answers `--prompt` with text.
    func testTrainTokenizer_thenGenerateFromTextPrompt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let demo = try String(contentsOfFile: "\(CLIProcess.repoRoot)/data/demo/train.jsonl", encoding: .utf8)
        let lines = demo.split(separator: "\n").prefix(800).compactMap { line -> String? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return "\(o["prompt"] as! String) \(o["chosen"] as! String)"
        }
        try lines.joined(separator: "\n").write(toFile: "\(dir)/corpus.txt", atomically: true, encoding: .utf8)
        var r = try CLIProcess.run(["tokenizer", "train", "--input", "\(dir)/corpus.txt", "--vocab-size", "400", "--out", "\(dir)/model"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let info = try r.json()
        XCTAssertEqual(info["pieces"] as? Int, 400)
        XCTAssertEqual(info["pad_id"] as? Int, 3)
        let config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        r = try CLIProcess.run(["init", "--config", "\(dir)/config.json", "--out", "\(dir)/model", "--seed", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLIProcess.run(["generate", "--model", "\(dir)/model", "--prompt", "What is 2 plus 3?", "--max-new-tokens", "8",
                                "--temperature", "1", "--seed", "3", "--ignore-eos"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try r.json()
        XCTAssertEqual((out["ids"] as? [Int])?.first, 1, "bos first")
        XCTAssertNotNil(out["text"] as? String)
        // A dataset file is read as records: its prompts and answers are the corpus.
        r = try CLIProcess.run(["tokenizer", "train", "--input", "\(CLIProcess.repoRoot)/data/demo/eval.jsonl", "--vocab-size", "400",
                                "--out", "\(dir)/fromdata"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/fromdata").sorted(), ["tokenizer.model", "tokenizer.vocab"])
        r = try CLIProcess.run(["tokenizer", "train", "--input", "\(dir)/missing.txt", "--vocab-size", "200", "--out", "\(dir)/x"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("missing.txt"), r.stderr)
    }
}

extension TokenizerCLITests {
    /// `--character-coverage` reaches SentencePiece (it is reported, and a size that fits only at
    /// the lower coverage trains), and a vocabulary too small or too large for a Chinese/English
    /// corpus fails with our message: the limit, the sizes that work, the options to change.
    func testTrainTokenizer_characterCoverageAndVocabularyLimits() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokcjk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let han = Array("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面")
        var lines = (0..<150).map { i in
            "患者 \(han[i % han.count])\(han[(i * 7) % han.count])\(han[(i * 11) % han.count]) the patient has fever \(han[(i * 3) % han.count])"
        }
        for (i, rare) in ["龘", "齉", "爩", "麤", "鱻", "灪"].enumerated() { lines[i * 20] += rare }
        try lines.joined(separator: "\n").write(toFile: "\(dir)/corpus.txt", atomically: true, encoding: .utf8)
        let train = ["tokenizer", "train", "--input", "\(dir)/corpus.txt", "--out", "\(dir)/tok"]

        var r = try CLIProcess.run(train + ["--vocab-size", "280", "--character-coverage", "1.0"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--vocab-size 280 is too small for this corpus"), r.stderr)
        let least = try XCTUnwrap(r.stderr.firstMatch(of: /Use --vocab-size (\d+) or more/).flatMap { Int($0.1) }, r.stderr)
        XCTAssertTrue(r.stderr.contains("at least \(least) pieces") && r.stderr.contains("256 byte pieces"), r.stderr)
        XCTAssertFalse(r.stderr.contains("--character_coverage option"), "SentencePiece's own advice leaked: \(r.stderr)")

        // One piece short at 1.0; the coverage the message names makes it fit.
        r = try CLIProcess.run(train + ["--vocab-size", "\(least - 1)", "--character-coverage", "1.0"])
        XCTAssertNotEqual(r.status, 0)
        let coverage = try XCTUnwrap(r.stderr.firstMatch(of: /or --character-coverage ([0-9.]+) or lower/).map { String($0.1) }, r.stderr)
        r = try CLIProcess.run(train + ["--vocab-size", "\(least - 1)", "--character-coverage", coverage])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try r.json()["pieces"] as? Int, least - 1)
        XCTAssertEqual(try r.json()["character_coverage"] as? Double, Double(coverage))

        r = try CLIProcess.run(train + ["--vocab-size", "9000"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--vocab-size 9000 is too large for this corpus"), r.stderr)
        XCTAssertNotNil(r.stderr.firstMatch(of: /Use --vocab-size from \d+ to \d+/), r.stderr)
        XCTAssertTrue(r.stderr.contains("--character-coverage 0.9995"), "the default coverage is named: \(r.stderr)")

        r = try CLIProcess.run(train + ["--vocab-size", "400", "--character-coverage", "0.5"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--character-coverage must be from 0.98 to 1.0"), r.stderr)
    }
}

final class KernelSetTests: XCTestCase {
    /// The AVX-512, AVX2 and baseline builds of the C kernels give the same bits, in float32 and
    /// in bfloat16 generation.
    func testKernelSets_giveIdenticalOutputs() throws {
        let fixture = "\(CLIProcess.repoRoot)/Tests/ModelTests/Fixtures/llama-tied-f32"
        var outputs: [String: String] = [:]
        for set in ["avx512", "avx2", "generic"] {
            var env = ProcessInfo.processInfo.environment
            env["RLHF_KERNELS"] = set
            let e = try CLIProcess.run(["env", "--no-peak"], environment: env)
            e.assertSucceeded("env with RLHF_KERNELS=\(set)")
            let used = try e.json()["kernels"] as? String ?? "?"
            let lp = try CLIProcess.run(["logprobs", "--model", fixture, "--ids", "5 17 33 2 90 41 7 7 64 12 3 88 19 20 21 22 23 24"], environment: env)
            let gen = try CLIProcess.run(["generate", "--model", fixture, "--ids", "4 5", "--max-new-tokens", "20", "--temperature", "0.9",
                                          "--seed", "2", "--ignore-eos"], environment: env)
            // bfloat16 generation: the same bits on every set (each output one chain of FMAs).
            let half = try CLIProcess.run(["generate", "--model", fixture, "--ids", "4 5", "--max-new-tokens", "20", "--temperature", "0.9",
                                           "--seed", "2", "--ignore-eos", "--precision", "bfloat16"], environment: env)
            lp.assertSucceeded("logprobs with RLHF_KERNELS=\(set)")
            gen.assertSucceeded("generate with RLHF_KERNELS=\(set)")
            half.assertSucceeded("bfloat16 generate with RLHF_KERNELS=\(set)")
            outputs[used] = lp.stdout + gen.stdout + half.stdout
        }
        // Each set this CPU can run must have run (RLHF_KERNELS only forces a set the CPU has).
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var expected = 1
        if flags.contains(" avx2 ") && flags.contains(" fma ") { expected += 1 }
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy({ flags.contains(" \($0) ") }) { expected += 1 }
        XCTAssertEqual(outputs.count, expected, "kernel sets that ran: \(outputs.keys.sorted())")
        XCTAssertEqual(Set(outputs.values).count, 1, "kernel sets \(outputs.keys.sorted()) disagree")
    }
}
