import Foundation
import Model
import XCTest

/// Reading and writing PEFT's adapter_config.json: what PEFT writes is read, what changes the
/// computation in ways not implemented is refused with the file and field.
final class LoRAConfigTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ object: [String: Any]) throws -> String {
        let path = dir + "/adapter_config.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The fields PEFT 0.21 writes for a Llama causal-LM adapter (values of the fixture).
    var peftWritten: [String: Any] {
        ["peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "lora_dropout": 0.05,
         "target_modules": ["v_proj", "k_proj", "q_proj", "o_proj", "up_proj", "gate_proj", "down_proj"],
         "bias": "none", "fan_in_fan_out": false, "use_rslora": false, "use_dora": false, "lora_bias": false,
         "init_lora_weights": true, "inference_mode": true, "modules_to_save": NSNull(), "layers_to_transform": NSNull(),
         "layers_pattern": NSNull(), "rank_pattern": [String: Any](), "alpha_pattern": [String: Any](),
         "base_model_name_or_path": "llama-gqa-f32", "exclude_modules": NSNull(), "megatron_config": NSNull(),
         "megatron_core": "megatron.core", "loftq_config": [String: Any](), "peft_version": "0.21.2"]
    }

    func testPEFTConfig_isRead() throws {
        let c = try LoRAConfig.load(contentsOf: try write(peftWritten))
        XCTAssertEqual(c.r, 4)
        XCTAssertEqual(c.alpha, 8)
        XCTAssertEqual(c.scaling, 2)
        XCTAssertEqual(c.dropout, 0.05)
        XCTAssertEqual(c.targetModules, LoRATarget.allCases)
        XCTAssertEqual(c.taskType, .causalLM)
        XCTAssertEqual(c.baseModelNameOrPath, "llama-gqa-f32")
        XCTAssertEqual(c.modulesToSave, [])
    }

    func testDefaults_areTheOnesOfPEFT() {
        let c = LoRAConfig()
        XCTAssertEqual(c.r, 8)
        XCTAssertEqual(c.alpha, 8)
        XCTAssertEqual(c.dropout, 0)
        XCTAssertEqual(c.targetModules, [.q, .v])
        XCTAssertEqual(LoRAConfig(taskType: .sequenceClassification).modulesToSave, ["classifier", "score"])
    }

    func testWriteThenRead_isIdentical() throws {
        let c = LoRAConfig(r: 16, alpha: 32, dropout: 0.1, targetModules: [.down, .q, .gate], taskType: .sequenceClassification,
                           baseModelNameOrPath: "models/base")
        try c.write(toDirectory: dir)
        XCTAssertEqual(try LoRAConfig.load(contentsOf: dir), c)
        let text = try String(contentsOfFile: dir + "/adapter_config.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"lora_alpha\" : 32,") && text.contains("\"peft_type\" : \"LORA\""), text)
    }

    func testTargetModuleForms() throws {
        var o = peftWritten
        o["target_modules"] = "all-linear"
        XCTAssertEqual(try LoRAConfig.load(contentsOf: try write(o)).targetModules, LoRATarget.allCases)
        o["target_modules"] = ["self_attn.q_proj", "mlp.down_proj", "q_proj"]
        XCTAssertEqual(try LoRAConfig.load(contentsOf: try write(o)).targetModules, [.q, .down])
        for bad: Any in [".*q_proj", ["lm_head"], ["model.layers.0.self_attn.q_proj"], ["mlp.q_proj"]] {
            o["target_modules"] = bad
            assertRefused(o, field: "target_modules")
        }
    }

    func testUnsupportedOptions_areRefusedNamingFileAndField() throws {
        let cases: [(String, Any)] = [
            ("use_rslora", true), ("use_dora", true), ("bias", "all"), ("lora_bias", true), ("fan_in_fan_out", true),
            ("peft_type", "IA3"), ("task_type", "SEQ_2_SEQ_LM"), ("layers_to_transform", [0]),
            ("rank_pattern", ["q_proj": 8]), ("init_lora_weights", "pissa"), ("modules_to_save", ["lm_head"]),
            ("r", 0), ("lora_dropout", 1.0),
        ]
        for (field, value) in cases {
            var o = peftWritten
            o[field] = value
            assertRefused(o, field: field)
        }
        var o = peftWritten
        o["r"] = nil
        assertRefused(o, field: "r")
    }

    /// A rank beyond any real adapter is refused on reading, before an adapter is allocated.
    func testAbsurdRank_isRefused() throws {
        var o = peftWritten
        o["r"] = 1_000_000_000
        XCTAssertThrowsError(try LoRAConfig.load(contentsOf: try write(o))) { e in
            XCTAssertEqual((e as? CheckpointError)?.code, .tooLarge, "\(e)")
            XCTAssertTrue("\(e)".contains("1000000000 is beyond any real adapter"), "\(e)")
        }
    }

    /// The adapters' count is the layout's, and memory is checked with the base model: refused
    /// one byte short of base plus adapters, naming `r` and the figures.
    func testAdapterFootprint_countsTheLayout_andIsCheckedAgainstMemory() throws {
        let base = LlamaConfig(vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: 2, numAttentionHeads: 4,
                               numKeyValueHeads: 2)
        let config = LoRAConfig(r: 4, targetModules: LoRATarget.allCases)
        let count = try XCTUnwrap(config.parameterCount(for: base))
        XCTAssertEqual(count, LoRAAdapters(config: config, for: Llama(config: base)).parameterCount)
        let needed = 4 * count + (base.footprint.bytes ?? 0)
        XCTAssertNoThrow(try config.checkFitsInMemory(for: base, availableBytes: needed))
        XCTAssertThrowsError(try config.checkFitsInMemory(for: base, availableBytes: needed - 1, path: "adapter_config.json")) { e in
            XCTAssertEqual((e as? CheckpointError)?.field, "r", "\(e)")
            XCTAssertTrue("\(e)".contains("rank 4 makes \(count) adapter parameters"), "\(e)")
        }
    }

    func assertRefused(_ object: [String: Any], field: String, line: UInt = #line) {
        let path: String
        do { path = try write(object) } catch { return XCTFail("\(error)", line: line) }
        XCTAssertThrowsError(try LoRAConfig.load(contentsOf: path), "\(field)", line: line) { e in
            let error = e as? CheckpointError
            XCTAssertEqual(error?.path, path, line: line)
            XCTAssertEqual(error?.field, field, "\(e)", line: line)
        }
    }
}
