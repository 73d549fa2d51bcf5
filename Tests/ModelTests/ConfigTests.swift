import Foundation
import Model
import Tensor
import XCTest

final class ConfigTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    var configPath: String { dir + "/config.json" }

    /// The fields every HF Llama config has; tests add, override or remove (with NSNull) fields.
    func baseFields() -> [String: Any] {
        [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 96, "hidden_size": 32,
            "intermediate_size": 80, "num_hidden_layers": 2, "num_attention_heads": 4, "rms_norm_eps": 1e-5,
            "max_position_embeddings": 128, "hidden_act": "silu",
        ]
    }

    /// Writes `config.json` from the base fields changed by `changes` (NSNull removes a field) and loads it.
    func load(_ changes: [String: Any] = [:]) throws -> LlamaConfig {
        var fields = baseFields()
        for (key, value) in changes {
            fields[key] = value is NSNull ? nil : value
        }
        try JSONSerialization.data(withJSONObject: fields).write(to: URL(fileURLWithPath: configPath))
        return try LlamaConfig.load(contentsOf: configPath)
    }

    func loadRaw(_ json: String) throws -> LlamaConfig {
        try Data(json.utf8).write(to: URL(fileURLWithPath: configPath))
        return try LlamaConfig.load(contentsOf: configPath)
    }

    // MARK: - Versions and model types

    func testLoad_transformers4Style_readsTopLevelRopeThetaAndDefaultsHeads() throws {
        let config = try loadRaw("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 96, "hidden_size": 32,
             "intermediate_size": 80, "num_hidden_layers": 2, "num_attention_heads": 4, "rms_norm_eps": 1e-05,
             "max_position_embeddings": 128, "hidden_act": "silu", "rope_theta": 25000.0, "rope_scaling": null,
             "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": null,
             "tie_word_embeddings": false, "attention_bias": false, "mlp_bias": false, "pretraining_tp": 1,
             "transformers_version": "4.46.0"}
            """)
        var expected = LlamaConfig(
            vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: 2, numAttentionHeads: 4,
            maxPositionEmbeddings: 128, rmsNormEps: 1e-5, ropeTheta: 25000)
        expected.bosTokenID = 1
        expected.eosTokenID = 2
        expected.eosTokenIDs = [2]
        XCTAssertEqual(config, expected)
        XCTAssertEqual(config.numKeyValueHeads, 4)
        XCTAssertEqual(config.headDim, 8)
    }

    func testLoad_transformers5Style_readsRopeParameters() throws {
        let config = try load([
            "rope_parameters": ["rope_theta": 500000.0, "rope_type": "default"], "head_dim": 16,
            "num_key_value_heads": 2, "dtype": "bfloat16", "transformers_version": "5.24.0",
        ])
        XCTAssertEqual(config.ropeTheta, 500000)
        XCTAssertEqual(config.headDim, 16)
        XCTAssertEqual(config.numKeyValueHeads, 2)
    }

    func testLoad_whenBothRopeForms_prefersRopeParameters() throws {
        let config = try load(["rope_theta": 10000, "rope_parameters": ["rope_theta": 70000, "rope_type": "default"]])
        XCTAssertEqual(config.ropeTheta, 70000)
    }

    func testLoad_ropeScaling_bothForms_andWrittenForBothReaders() throws {
        let llama3: [String: Any] = ["factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 8192]
        let expected = RopeScaling.llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192)
        // 4.x: rope_scaling beside a top-level rope_theta; older files say "type".
        var config = try load(["rope_theta": 500000.0, "rope_scaling": llama3.merging(["rope_type": "llama3"]) { $1 }])
        XCTAssertEqual(config.ropeScaling, expected)
        XCTAssertEqual(config.ropeTheta, 500000)
        XCTAssertEqual(try load(["rope_scaling": ["type": "linear", "factor": 2.0]]).ropeScaling, .linear(factor: 2))
        // 5.x: everything inside rope_parameters.
        config = try load(["rope_parameters": llama3.merging(["rope_type": "llama3", "rope_theta": 500000.0]) { $1 }])
        XCTAssertEqual(config.ropeScaling, expected)
        XCTAssertEqual(config.ropeTheta, 500000)
        // A non-null rope_scaling wins, as transformers 5.x reads it.
        config = try load(["rope_scaling": ["rope_type": "linear", "factor": 3.0],
                           "rope_parameters": ["rope_type": "default", "rope_theta": 10000.0]])
        XCTAssertEqual(config.ropeScaling, .linear(factor: 3))
        // Written for both: rope_parameters (5.x) with the base, rope_scaling (4.x) without; reads back equal.
        config = try load(["rope_parameters": llama3.merging(["rope_type": "llama3", "rope_theta": 500000.0]) { $1 }])
        let written = config.jsonObject()
        let parameters = try XCTUnwrap(written["rope_parameters"] as? [String: Any])
        let scaling = try XCTUnwrap(written["rope_scaling"] as? [String: Any])
        XCTAssertEqual(parameters["rope_type"] as? String, "llama3")
        XCTAssertEqual(parameters["rope_theta"] as? Double, 500000)
        XCTAssertEqual(scaling["original_max_position_embeddings"] as? Int, 8192)
        XCTAssertNil(scaling["rope_theta"])
        try config.write(toDirectory: dir)
        XCTAssertEqual(try LlamaConfig.load(contentsOf: dir), config)
        XCTAssertTrue(try load().jsonObject()["rope_scaling"] is NSNull, "plain RoPE writes rope_scaling: null")
    }

    func testLoad_badRopeScaling_namesTheField() throws {
        let cases: [(scaling: [String: Any], field: String, code: CheckpointError.Code)] = [
            (["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0],
             "rope_scaling.original_max_position_embeddings", .missing),
            (["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 64], "rope_scaling.high_freq_factor", .invalidValue),
            (["rope_type": "linear", "factor": 0.0], "rope_scaling.factor", .invalidValue),
            (["rope_type": "linear"], "rope_scaling.factor", .missing),
            (["factor": 2.0], "rope_scaling.rope_type", .missing),
        ]
        for (scaling, field, code) in cases {
            assertCheckpointError(code, mentions: [configPath, "'\(field)'"], field) {
                _ = try load(["rope_scaling": scaling])
            }
        }
    }

    func testLoad_qwen2_alwaysHasQKVBias() throws {
        let config = try load([
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "use_sliding_window": false,
            "sliding_window": NSNull(), "layer_types": ["full_attention", "full_attention"], "max_window_layers": 28,
            "rope_parameters": ["rope_theta": 1000000.0, "rope_type": "default"],
        ])
        XCTAssertTrue(config.attentionBias)
        XCTAssertEqual(config.architecture, "Qwen2ForCausalLM")
        XCTAssertEqual(config.modelType, "qwen2")
        XCTAssertEqual(config.ropeTheta, 1_000_000)
        XCTAssertTrue(try load(["attention_bias": true]).attentionBias, "llama with attention_bias")
        XCTAssertFalse(try load().attentionBias)
    }

    func testLoad_eosList_takesTheFirstAndKeepsAll() throws {
        let config = try load(["eos_token_id": [128001, 128008, 128009]])
        XCTAssertEqual(config.eosTokenID, 128001)
        XCTAssertEqual(config.eosTokenIDs, [128001, 128008, 128009])
    }

    func testLoad_nullsAndAbsentFieldsTakeTransformersDefaults() throws {
        let config = try load([
            "head_dim": NSNull(), "num_key_value_heads": NSNull(), "rms_norm_eps": NSNull(),
            "max_position_embeddings": NSNull(), "hidden_act": NSNull(), "bos_token_id": NSNull(), "eos_token_id": NSNull(),
        ])
        XCTAssertEqual(config.headDim, 8)
        XCTAssertEqual(config.numKeyValueHeads, 4)
        XCTAssertEqual(config.rmsNormEps, 1e-6)
        XCTAssertEqual(config.maxPositionEmbeddings, 2048)
        XCTAssertEqual(config.ropeTheta, 10000)
        XCTAssertFalse(config.tieWordEmbeddings)
        XCTAssertNil(config.bosTokenID)
        XCTAssertNil(config.eosTokenID)
        XCTAssertEqual(config.eosTokenIDs, [])
        XCTAssertNil(config.numLabels)
        // JSON null, as transformers writes for "use the default", reads like an absent field.
        XCTAssertEqual(try loadRaw("""
            {"model_type": "llama", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 80, "num_hidden_layers": 2,
             "num_attention_heads": 4, "head_dim": null, "num_key_value_heads": null, "rope_scaling": null, "bos_token_id": null}
            """).headDim, 8)
    }

    func testLoad_architectureAndModelTypeDefaultFromEachOther() throws {
        XCTAssertEqual(try load(["architectures": NSNull(), "model_type": "qwen2"]).architecture, "Qwen2ForCausalLM")
        XCTAssertEqual(try load(["architectures": ["MistralForCausalLM"], "model_type": NSNull()]).modelType, "mistral")
    }

    func testLoad_sequenceClassification_readsTheNumberOfLabels() throws {
        let head: [String: Any] = ["architectures": ["LlamaForSequenceClassification"]]
        XCTAssertEqual(try load(head.merging(["id2label": ["0": "LABEL_0"]]) { $1 }).numLabels, 1)
        XCTAssertEqual(try load(head.merging(["num_labels": 3]) { $1 }).numLabels, 3)
        XCTAssertEqual(try load(head).numLabels, 2, "transformers' default")
    }

    func testLoad_fromTheDirectory() throws {
        _ = try load()
        XCTAssertEqual(try LlamaConfig.load(contentsOf: dir).vocabSize, 96)
    }

    // MARK: - Errors

    func testLoad_unsupportedFeatures_nameTheFileAndField() throws {
        let cases: [(changes: [String: Any], field: String, mention: String)] = [
            (["hidden_act": "gelu"], "hidden_act", "gelu"),
            (["rope_scaling": ["rope_type": "dynamic", "factor": 8.0]], "rope_scaling.rope_type", "dynamic"),
            (["rope_scaling": ["type": "longrope", "factor": 2.0]], "rope_scaling.rope_type", "longrope"),
            (["rope_parameters": ["rope_type": "yarn", "rope_theta": 10000.0]], "rope_parameters.rope_type", "yarn"),
            (["rope_parameters": ["full_attention": ["rope_type": "default"]]], "rope_parameters", "per attention type"),
            (["mlp_bias": true], "mlp_bias", "not supported"),
            (["architectures": ["GPT2LMHeadModel"]], "architectures", "GPT2LMHeadModel"),
            (["model_type": "gemma"], "model_type", "gemma"),
            (["model_type": "qwen2", "use_sliding_window": true], "use_sliding_window", "not supported"),
            (["layer_types": ["full_attention", "sliding_attention"]], "layer_types", "sliding_attention"),
        ]
        for (changes, field, mention) in cases {
            assertCheckpointError(.unsupported, mentions: [configPath, "'\(field)'", mention], field) {
                _ = try load(changes)
            }
        }
    }

    func testLoad_missingRequiredFields_nameTheField() throws {
        for field in ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"] {
            assertCheckpointError(.missing, mentions: [configPath, "'\(field)'", "missing"], field) {
                _ = try load([field: NSNull()])
            }
        }
        assertCheckpointError(.missing, mentions: ["'model_type'"]) {
            _ = try load(["architectures": NSNull(), "model_type": NSNull()])
        }
    }

    func testLoad_wrongTypes_nameTheFieldAndTheExpectedType() throws {
        let cases: [(changes: [String: Any], field: String, expected: String)] = [
            (["hidden_size": "32"], "hidden_size", "an integer"),
            (["hidden_size": 32.5], "hidden_size", "an integer"),
            (["vocab_size": true], "vocab_size", "an integer"),
            (["rms_norm_eps": "1e-5"], "rms_norm_eps", "a number"),
            (["rope_theta": false], "rope_theta", "a number"),
            (["tie_word_embeddings": "yes"], "tie_word_embeddings", "true or false"),
            (["tie_word_embeddings": 1], "tie_word_embeddings", "true or false"),
            (["architectures": "LlamaForCausalLM"], "architectures", "an array"),
            (["architectures": [3]], "architectures", "an array of strings"),
            (["eos_token_id": "2"], "eos_token_id", "an integer or an array of integers"),
            (["eos_token_id": [2, "3"]], "eos_token_id", "an integer or an array of integers"),
            (["rope_parameters": 10000], "rope_parameters", "an object"),
            (["rope_parameters": ["rope_theta": "big"]], "rope_parameters.rope_theta", "a number"),
        ]
        for (changes, field, expected) in cases {
            assertCheckpointError(.invalidValue, mentions: [configPath, "'\(field)'", "expected \(expected)"], field) {
                _ = try load(changes)
            }
        }
    }

    func testLoad_inconsistentSizes_nameTheField() throws {
        let cases: [(changes: [String: Any], field: String)] = [
            (["num_key_value_heads": 3], "num_key_value_heads"),
            (["hidden_size": 30], "hidden_size"),
            (["head_dim": 7], "head_dim"),
            (["num_hidden_layers": 0], "num_hidden_layers"),
            (["vocab_size": -1], "vocab_size"),
            (["rms_norm_eps": 0], "rms_norm_eps"),
            (["architectures": []], "architectures"),
        ]
        for (changes, field) in cases {
            assertCheckpointError(.invalidValue, mentions: [configPath, "'\(field)'"], field) {
                _ = try load(changes)
            }
        }
        var config = try load()
        config.numAttentionHeads = 0
        assertCheckpointError(.invalidValue, mentions: ["'num_attention_heads'", "positive"]) { try config.validate() }
    }

    func testLoad_badFiles_nameTheFile() throws {
        assertCheckpointError(.notFound, mentions: [configPath]) { _ = try LlamaConfig.load(contentsOf: configPath) }
        assertCheckpointError(.notFound, mentions: [configPath]) { _ = try LlamaConfig.load(contentsOf: dir) }
        assertCheckpointError(.malformed, mentions: [configPath, "not valid JSON"]) { _ = try loadRaw("{\"vocab_size\": ") }
        assertCheckpointError(.malformed, mentions: [configPath, "JSON object"]) { _ = try loadRaw("[1, 2]") }
    }

    // MARK: - Writing

    func testWriteThenLoad_roundTripsEveryField() throws {
        var config = LlamaConfig(
            vocabSize: 100, hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 3, numAttentionHeads: 8,
            numKeyValueHeads: 2, headDim: 16, maxPositionEmbeddings: 512, rmsNormEps: 1e-6, ropeTheta: 1e6,
            tieWordEmbeddings: true, architecture: "Qwen2ForSequenceClassification", modelType: "qwen2")
        config.bosTokenID = 0
        config.eosTokenID = 5
        config.eosTokenIDs = [5, 7]
        config.padTokenID = 3
        config.numLabels = 1
        XCTAssertTrue(config.attentionBias, "qwen2 forces q/k/v bias")
        try config.write(toDirectory: dir + "/out")
        XCTAssertEqual(try LlamaConfig.load(contentsOf: dir + "/out"), config)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/out"), ["config.json"])
    }

    func testJSONObject_hasWhatTransformers4And5Read() throws {
        var config = LlamaConfig(
            vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: 2, numAttentionHeads: 4, ropeTheta: 5e5)
        config.eosTokenID = 2
        config.eosTokenIDs = [2]
        let object = config.jsonObject()
        XCTAssertEqual(object["rope_theta"] as? Double, 5e5)
        XCTAssertEqual((object["rope_parameters"] as? [String: Any])?["rope_theta"] as? Double, 5e5)
        XCTAssertEqual((object["rope_parameters"] as? [String: Any])?["rope_type"] as? String, "default")
        XCTAssertEqual(object["head_dim"] as? Int, 8)
        XCTAssertEqual(object["num_key_value_heads"] as? Int, 4)
        XCTAssertEqual(object["hidden_act"] as? String, "silu")
        XCTAssertEqual(object["torch_dtype"] as? String, "float32")
        XCTAssertEqual(object["dtype"] as? String, "float32")
        XCTAssertEqual(object["architectures"] as? [String], ["LlamaForCausalLM"])
        XCTAssertEqual(object["model_type"] as? String, "llama")
        XCTAssertEqual(object["attention_bias"] as? Bool, false)
        XCTAssertEqual(object["mlp_bias"] as? Bool, false)
        XCTAssertEqual(object["use_cache"] as? Bool, true)
        XCTAssertEqual(object["eos_token_id"] as? Int, 2)
        XCTAssertNotNil(object["initializer_range"])
        XCTAssertNotNil(object["transformers_version"])
        XCTAssertNil(object["id2label"])
        try config.write(toDirectory: dir)
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        XCTAssertTrue(text.contains("\"rms_norm_eps\" : 1e-05"), "epsilon written as its shortest decimal:\n\(text)")
    }

    func testWrite_refusesAnInvalidConfigAndWritesNothing() throws {
        let config = LlamaConfig(
            vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 3)
        assertCheckpointError(.invalidValue, mentions: [configPath, "'num_key_value_heads'"]) { try config.write(toDirectory: dir) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: configPath))
    }

    func testCodable_roundTripsForOurOwnStateFiles() throws {
        var config = LlamaConfig(vocabSize: 10, hiddenSize: 8, intermediateSize: 12, numHiddenLayers: 1, numAttentionHeads: 2)
        config.eosTokenIDs = [1, 2]
        config.eosTokenID = 1
        let decoded = try JSONDecoder().decode(LlamaConfig.self, from: JSONEncoder().encode(config))
        XCTAssertEqual(decoded, config)
    }
}
