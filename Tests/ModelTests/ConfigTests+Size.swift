import Foundation
import Model
import XCTest

/// A config that names an absurd size is refused when it is read, naming the file, the field and
/// the figures, before anything is allocated (LlamaConfig+Size.swift).
extension ConfigTests {
    /// The footprint's parameter count is the layout's, for every head and attention variant, so
    /// the figures in a refusal are the ones the model would have had.
    func testFootprint_countsWhatTheLayoutAllocates() throws {
        var tied = LlamaConfig(vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: 2, numAttentionHeads: 4,
                               numKeyValueHeads: 2, tieWordEmbeddings: true)
        tied.maxPositionEmbeddings = 64
        let qwen = LlamaConfig(vocabSize: 100, hiddenSize: 48, intermediateSize: 64, numHiddenLayers: 3, numAttentionHeads: 6,
                               numKeyValueHeads: 2, headDim: 16, modelType: "qwen2")
        var reward = LlamaConfig(vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: 2, numAttentionHeads: 4,
                                 architecture: "LlamaForSequenceClassification")
        reward.numLabels = 3
        let plain = LlamaConfig(vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: 2, numAttentionHeads: 4)
        for config in [plain, tied, qwen, reward] {
            let model = Llama(config: config)
            let footprint = config.footprint
            XCTAssertEqual(footprint.parameters, model.parameterCount, "\(config)")
            XCTAssertEqual(footprint.bytes, 4 * (model.parameterCount + config.maxPositionEmbeddings * config.headDim), "\(config)")
        }
    }

    /// Products that pass Int.max are caught, not trapped on: the count is unknown (nil) and the
    /// field whose share overflowed is the one named.
    func testFootprint_whenTheCountOverflows_isNilAndNamesTheField() {
        let huge = LlamaConfig(vocabSize: 96, hiddenSize: 32, intermediateSize: 80, numHiddenLayers: Int.max / 2, numAttentionHeads: 4)
        XCTAssertNil(huge.footprint.parameters)
        XCTAssertNil(huge.footprint.bytes)
        XCTAssertEqual(huge.footprint.largestField, "num_hidden_layers")
        XCTAssertThrowsError(try huge.validate()) { XCTAssertEqual(($0 as? CheckpointError)?.code, .tooLarge, "\($0)") }
    }

    /// Each size field beyond any real model is refused on reading, with the file, the field,
    /// the value and what it would have cost; quickly, since nothing is allocated.
    func testLoad_absurdSizes_areRefusedNamingFileFieldAndFigures() throws {
        let cases: [(field: String, value: Int, with: [String: Any])] = [
            ("num_hidden_layers", 1_000_000_000_000, [:]), ("hidden_size", 1 << 30, [:]), ("vocab_size", 1_000_000_000_000, [:]),
            ("intermediate_size", 1 << 40, [:]), ("num_attention_heads", 1 << 20, ["head_dim": 8]), ("head_dim", 1 << 20, [:]),
            ("max_position_embeddings", 1 << 40, [:]),
        ]
        let start = Date()
        for (field, value, others) in cases {
            XCTAssertThrowsError(try load(others.merging([field: value]) { $1 }), field) { e in
                let error = e as? CheckpointError
                XCTAssertEqual(error?.code, .tooLarge, "\(e)")
                XCTAssertEqual(error?.path, configPath, "\(e)")
                XCTAssertEqual(error?.field, field, "\(e)")
                for phrase in ["\(value) is beyond any real model", "parameters", "bytes", "available"] {
                    XCTAssertTrue("\(e)".contains(phrase), "\(field): the message should say \"\(phrase)\": \(e)")
                }
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "refusals are read from the file, not found by allocating")
    }

    /// Every field within its limit, but together more parameters than any real model: refused,
    /// naming the field with the largest share.
    func testLoad_aTotalBeyondAnyRealModel_isRefused() throws {
        XCTAssertThrowsError(try load(["hidden_size": 65536, "num_attention_heads": 512, "intermediate_size": 1 << 20,
                                       "num_hidden_layers": 4096])) { e in
            let error = e as? CheckpointError
            XCTAssertEqual(error?.code, .tooLarge, "\(e)")
            XCTAssertEqual(error?.field, "num_hidden_layers", "\(e)")
            XCTAssertTrue("\(e)".contains("larger than any real one"), "\(e)")
        }
    }

    /// Memory is checked against what the weights alone need: refused one byte short, accepted at
    /// the exact figure, and the message gives both.
    func testCheckFitsInMemory_refusesOneByteShort() throws {
        let config = try load()
        let needed = try XCTUnwrap(config.footprint.bytes)
        XCTAssertNoThrow(try config.checkFitsInMemory(needed, path: configPath))
        XCTAssertThrowsError(try config.checkFitsInMemory(needed - 1, path: configPath)) { e in
            let error = e as? CheckpointError
            XCTAssertEqual(error?.code, .tooLarge, "\(e)")
            XCTAssertEqual(error?.field, "num_hidden_layers", "the layers hold most of this model's weights: \(e)")
            for phrase in [configPath, "does not fit in memory", "\(needed) bytes", "this machine has \(needed - 1) bytes"] {
                XCTAssertTrue("\(e)".contains(phrase), "the message should say \"\(phrase)\": \(e)")
            }
        }
    }

    /// The shape of Llama 3.1 405B is a real model, but its weights (1.6 TB in Float32) fit no
    /// machine this runs on: reading its config refuses it.
    func testLoad_aRealModelLargerThanThisMachine_isRefused() throws {
        let fields: [String: Any] = [
            "hidden_size": 16384, "intermediate_size": 53248, "num_hidden_layers": 126, "num_attention_heads": 128,
            "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072,
        ]
        let config = LlamaConfig(vocabSize: 128256, hiddenSize: 16384, intermediateSize: 53248, numHiddenLayers: 126,
                                 numAttentionHeads: 128, numKeyValueHeads: 8, maxPositionEmbeddings: 131072)
        let needed = try XCTUnwrap(config.footprint.bytes)
        try XCTSkipIf(needed <= SystemMemory.bytes, "this machine has \(SystemMemory.bytes) bytes, enough for 405B")
        XCTAssertThrowsError(try load(fields)) { e in
            XCTAssertEqual((e as? CheckpointError)?.code, .tooLarge, "\(e)")
            XCTAssertTrue("\(e)".contains("does not fit in memory"), "\(e)")
            XCTAssertTrue("\(e)".contains("\(needed) bytes"), "\(e)")
        }
    }
}
