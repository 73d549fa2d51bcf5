import Foundation
import Model
import TestSupport
import XCTest

/// Our model against transformers itself: log-probabilities and last logits within 1e-4, greedy
/// generations token for token, on the checkpoints `Scripts/make-fixtures` saved.
final class TransformersFixtureTests: XCTestCase {
    struct Reference: Decodable {
        struct Case: Decodable {
            var ids: [Int]
            var logprobs: [Float]
            var last_logits: [Float]
        }
        struct Generation: Decodable {
            var prompt: [Int]
            var max_new_tokens: Int
            var ids: [Int]
        }
        var model: String
        var dtype: String
        var cases: [Case]
        var generation: [Generation]
    }

    static let names = ["llama-gqa-f32", "llama-mha-f32", "llama-tied-f32", "llama-gqa-bf16", "llama-tied-bf16",
                        "qwen2-bias-f32", "llama-v4-config-f32", "llama-rope-llama3-f32", "llama-rope-linear-f32"]

    static func fixtureDirectory(_ name: String) throws -> String {
        let root = try XCTUnwrap(Bundle.module.resourcePath, "test resources")
        return "\(root)/Fixtures/\(name)"
    }

    func check(_ name: String) throws {
        let dir = try Self.fixtureDirectory(name)
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/reference.json")))
        let model = try Llama.load(directory: dir)
        let c = Self.closeness(model, ref.cases)
        XCTAssertTrue(c.passed, "\(name) against transformers: \(c)")
        try Self.checkGreedy(model, ref.generation, name)
    }

    /// Our log-probs and last logits against the reference's over all cases, within 1e-4.
    static func closeness(_ model: Llama, _ cases: [Reference.Case]) -> Closeness {
        var ours: [Float] = [], theirs: [Float] = [], labels: [String] = []
        let V = model.config.vocabSize
        for c in cases {
            let T = c.ids.count
            let acts = TrainingActivations(model: model, B: 1, T: T)
            let ids = c.ids.map(Int32.init)
            model.forward(ids: ids, acts: acts)
            model.languageModelForward(targets: (0..<T).map { $0 + 1 < T ? ids[$0 + 1] : -1 }, acts: acts)
            XCTAssertEqual(c.logprobs.count, T - 1, "reference log-probs of \(c.ids)")
            XCTAssertEqual(c.last_logits.count, V, "reference last logits of \(c.ids)")
            ours += acts.logprobs.array[0..<(T - 1)] + acts.logits.array[((T - 1) * V)..<(T * V)]
            theirs += c.logprobs + c.last_logits
            labels += (0..<(T - 1)).map { "case of \(T) tokens, log-prob \($0)" } + (0..<V).map { "case of \(T) tokens, last logit \($0)" }
        }
        return Closeness(ours, theirs, atol: 1e-4) { labels[$0] }
    }

    /// Greedy generations token for token, each prompt alone and all prompts in one batch.
    static func checkGreedy(_ model: Llama, _ generation: [Reference.Generation], _ name: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let gen = Generator(model: model)
        for g in generation {
            let out = try gen.generate(prompts: [g.prompt], maxNewTokens: g.max_new_tokens)
            XCTAssertEqual(g.prompt + out.newTokens[0], g.ids, "\(name): greedy generation from \(g.prompt)", file: file, line: line)
        }
        let batch = try gen.generate(prompts: generation.map(\.prompt), maxNewTokens: generation[0].max_new_tokens)
        for (i, g) in generation.enumerated() {
            XCTAssertEqual(g.prompt + batch.newTokens[i], g.ids, "\(name): batched greedy generation \(i)", file: file, line: line)
        }
    }

    func testGQA_f32() throws { try check("llama-gqa-f32") }
    func testMultiHead_shardedF32() throws { try check("llama-mha-f32") }
    func testTiedEmbeddings_f32() throws { try check("llama-tied-f32") }
    func testGQA_bf16() throws { try check("llama-gqa-bf16") }
    func testTiedEmbeddings_bf16() throws { try check("llama-tied-bf16") }
    func testQwen2QKVBias_f32() throws { try check("qwen2-bias-f32") }
    func testTransformers4Config_f32() throws { try check("llama-v4-config-f32") }
    func testRopeScalingLlama3_f32() throws { try check("llama-rope-llama3-f32") }
    func testRopeScalingLinear_f32() throws { try check("llama-rope-linear-f32") }

    /// Every fixture directory is checked by a test here (or named below with the test that
    /// checks it) and listed in Docs/models.md and the fixtures' README.
    func testEveryFixture_isCheckedAndDocumented() throws {
        let root = try XCTUnwrap(Bundle.module.resourcePath, "test resources") + "/Fixtures"
        let directories = try FileManager.default.contentsOfDirectory(atPath: root).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(root)/\($0)", isDirectory: &isDirectory) && isDirectory.boolValue
        }
        let checkedElsewhere = ["lora-llama", "llama-rm-f32"]  // LoRAFixtureTests, ScoreHeadFixtureTests
        XCTAssertEqual(Set(directories), Set(Self.names + checkedElsewhere))
        XCTAssertEqual(Self.names.count + checkedElsewhere.count, 11, "Docs/models.md says eleven")
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let models = try String(contentsOf: repository.appendingPathComponent("Docs/models.md"), encoding: .utf8)
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        for name in directories {
            XCTAssertTrue(models.contains("`\(name)`"), "Docs/models.md does not list \(name)")
            XCTAssertTrue(readme.contains("| `\(name)` |"), "the fixtures' README table has no row for \(name)")
        }
    }

    /// Saving and loading back gives the same parameters bit for bit.
    func testSaveThenLoad_isIdentical() throws {
        let model = try Llama.load(directory: try Self.fixtureDirectory("llama-gqa-bf16"))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("save-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try model.save(directory: out)
        let back = try Llama.load(directory: out)
        XCTAssertEqual(back.config, model.config)
        XCTAssertEqual(back.parameters.array, model.parameters.array)
    }

    func testMissingTensor_isNamed() throws {
        let src = try Self.fixtureDirectory("llama-gqa-f32")
        let model = try Llama.load(directory: src)
        var tensors = model.namedTensors()
        tensors["model.layers.1.mlp.up_proj.weight"] = nil
        XCTAssertThrowsError(try Llama(config: model.config).loadParameters(tensors, source: src)) { e in
            XCTAssertTrue("\(e)".contains("model.layers.1.mlp.up_proj.weight"), "\(e)")
        }
        tensors = model.namedTensors()
        tensors["model.norm.weight"] = HostTensor(shape: [3], data: [1, 1, 1])
        XCTAssertThrowsError(try Llama(config: model.config).loadParameters(tensors, source: src)) { e in
            XCTAssertTrue("\(e)".contains("model.norm.weight") && "\(e)".contains("shape"), "\(e)")
        }
    }
}
