import Foundation
import Model
import XCTest

final class CheckpointDirectoryTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func path(_ name: String) -> String { dir + "/" + name }

    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    func write(_ name: String, _ data: Data) throws {
        try data.write(to: URL(fileURLWithPath: path(name)))
    }

    func write(_ name: String, json: String) throws {
        try write(name, Data(json.utf8))
    }

    /// Tensors of 4 * (size of shape) bytes each: a 8 B, b 16 B, c 4 B, d 8 B.
    let tensors: [String: HostTensor] = [
        "a": HostTensor(shape: [2], data: [1, 2]),
        "b": HostTensor(shape: [2, 2], data: [3, 4, 5, 6]),
        "c": HostTensor(shape: [1], data: [7]),
        "d": HostTensor(shape: [2], data: [8, 9]),
    ]

    let config = LlamaConfig(vocabSize: 8, hiddenSize: 4, intermediateSize: 6, numHiddenLayers: 1, numAttentionHeads: 2)

    // MARK: - Round trips

    func testSaveThenLoad_singleFile_roundTripsConfigAndTensors() throws {
        let checkpoint = CheckpointDirectory(path: path("ckpt/nested"))
        try checkpoint.save(config: config, tensors: tensors)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: checkpoint.path).sorted(), ["config.json", "model.safetensors"])
        XCTAssertEqual(try checkpoint.loadTensors(), tensors)
        XCTAssertEqual(try checkpoint.loadConfig(), config)
    }

    func testSaveSharded_splitsInNameOrderAtTheLimitAndWritesTheIndex() throws {
        let checkpoint = CheckpointDirectory(path: dir)
        try checkpoint.saveTensors(tensors, maxShardBytes: 24)
        // a (8) + b (16) = 24 fits; c (4) would pass it, so c and d (12) start shard 2.
        XCTAssertEqual(try files(), [
            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
        ])
        let index = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("model.safetensors.index.json")))) as? [String: Any])
        XCTAssertEqual((index["metadata"] as? [String: Any])?["total_size"] as? Int, 36)
        XCTAssertEqual(index["weight_map"] as? [String: String], [
            "a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
            "c": "model-00002-of-00002.safetensors", "d": "model-00002-of-00002.safetensors",
        ])
        XCTAssertEqual(try SafeTensors.read(contentsOf: path("model-00002-of-00002.safetensors")).keys.sorted(), ["c", "d"])
        XCTAssertEqual(try checkpoint.loadTensors(), tensors)
    }

    func testSaveSharded_aTensorLargerThanTheLimitGetsAShardOfItsOwn() throws {
        try CheckpointDirectory(path: dir).saveTensors(tensors, maxShardBytes: 5)
        XCTAssertEqual(try files().filter { $0.hasSuffix("-of-00004.safetensors") }.count, 4)
        XCTAssertEqual(try CheckpointDirectory(path: dir).loadTensors(), tensors)
    }

    func testSaveSharded_whenEverythingFits_writesOneFileLikeTransformers() throws {
        try CheckpointDirectory(path: dir).saveTensors(tensors, maxShardBytes: 1 << 20)
        XCTAssertEqual(try files(), ["model.safetensors"])
    }

    func testSave_removesWeightsOfTheOtherLayoutSoTheyCannotShadowTheNewOnes() throws {
        let checkpoint = CheckpointDirectory(path: dir)
        try write("notes.txt", json: "keep me")
        try checkpoint.saveTensors(tensors)
        try checkpoint.saveTensors(tensors, maxShardBytes: 5)
        XCTAssertFalse(try files().contains("model.safetensors"))
        try checkpoint.saveTensors(tensors, maxShardBytes: 24)
        XCTAssertEqual(try files(), [
            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "notes.txt",
        ])
        let changed = ["a": HostTensor(shape: [1], data: [0])]
        try checkpoint.saveTensors(changed)
        XCTAssertEqual(try files(), ["model.safetensors", "notes.txt"])
        XCTAssertEqual(try checkpoint.loadTensors(), changed)
    }

    func testSaveSharded_refusesANonPositiveLimit() {
        assertCheckpointError(.invalidValue, mentions: [dir, "maxShardBytes"]) {
            try CheckpointDirectory(path: dir).saveTensors(tensors, maxShardBytes: 0)
        }
    }

    // MARK: - Hand-built sharded checkpoints

    /// Two shards as transformers lays them out, one of them BF16.
    func writeHandBuiltShards(index: String? = nil) throws {
        try write("model-00001-of-00002.safetensors", safetensorsBytes(
            header: #"{"__metadata__":{"format":"pt"},"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#,
            data: u16Bytes([0x3F80, 0xC000])))
        try write("model-00002-of-00002.safetensors", safetensorsBytes(
            header: #"{"y":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}"#, data: f32Bytes([0.5])))
        try write("model.safetensors.index.json", json: index ?? """
            {"metadata": {"total_size": 8},
             "weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}}
            """)
    }

    func testLoad_handBuiltShardedCheckpoint_readsEveryShard() throws {
        try writeHandBuiltShards()
        XCTAssertEqual(try CheckpointDirectory(path: dir).loadTensors(), [
            "x": HostTensor(shape: [2], data: [1, -2]), "y": HostTensor(shape: [1, 1], data: [0.5]),
        ])
    }

    func testLoad_whenAShardFileIsMissing_namesTheShardAndATensor() throws {
        try writeHandBuiltShards()
        try FileManager.default.removeItem(atPath: path("model-00002-of-00002.safetensors"))
        assertCheckpointError(.notFound, mentions: [path("model-00002-of-00002.safetensors"), "does not exist", "'y'"]) {
            _ = try CheckpointDirectory(path: dir).loadTensors()
        }
    }

    func testLoad_whenAListedTensorIsNotInItsShard_namesTheTensorAndShard() throws {
        try writeHandBuiltShards(index: """
            {"weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors",
                            "z": "model-00002-of-00002.safetensors"}}
            """)
        assertCheckpointError(.missing, mentions: [path("model-00002-of-00002.safetensors"), "'z'", "is not in it"]) {
            _ = try CheckpointDirectory(path: dir).loadTensors()
        }
    }

    func testLoad_whenAShardHoldsATensorTheIndexPutsElsewhere_namesBoth() throws {
        try write("model-00001-of-00002.safetensors", safetensorsBytes(
            header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            data: f32Bytes([1, 2])))
        try write("model-00002-of-00002.safetensors", safetensorsBytes(
            header: #"{"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: f32Bytes([3])))
        try write("model.safetensors.index.json", json: """
            {"weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}}
            """)
        assertCheckpointError(
            .invalidValue, mentions: [path("model-00001-of-00002.safetensors"), "'y'", "under model-00002-of-00002.safetensors"]
        ) {
            _ = try CheckpointDirectory(path: dir).loadTensors()
        }
    }

    func testLoad_whenAShardHoldsAnUnlistedTensor_namesIt() throws {
        try write("model-00001-of-00001.safetensors", safetensorsBytes(
            header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"extra":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            data: f32Bytes([1, 2])))
        try write("model.safetensors.index.json", json: #"{"weight_map": {"x": "model-00001-of-00001.safetensors"}}"#)
        assertCheckpointError(.invalidValue, mentions: [path("model-00001-of-00001.safetensors"), "'extra'", "does not list it"]) {
            _ = try CheckpointDirectory(path: dir).loadTensors()
        }
    }

    func testLoad_malformedIndex_namesTheIndexAndField() throws {
        let index = path("model.safetensors.index.json")
        let cases: [(String, CheckpointError.Code, [String])] = [
            ("{", .malformed, ["not valid JSON"]),
            (#"{"metadata": {}}"#, .missing, ["'weight_map'"]),
            (#"{"weight_map": []}"#, .invalidValue, ["'weight_map'", "expected an object"]),
            (#"{"weight_map": {"x": 3}}"#, .invalidValue, ["'weight_map.x'", "shard file name"]),
            (#"{"weight_map": {"x": "../elsewhere.safetensors"}}"#, .invalidValue, ["'weight_map.x'", "plain file name"]),
        ]
        for (json, code, mentions) in cases {
            try write("model.safetensors.index.json", json: json)
            assertCheckpointError(code, mentions: [index] + mentions, json) {
                _ = try CheckpointDirectory(path: dir).loadTensors()
            }
        }
    }

    // MARK: - Missing things

    func testLoad_whenTheDirectoryIsMissing_saysSo() {
        assertCheckpointError(.notFound, mentions: [path("absent"), "does not exist"]) {
            _ = try CheckpointDirectory(path: path("absent")).loadTensors()
        }
        assertCheckpointError(.notFound, mentions: [path("absent"), "does not exist"]) {
            _ = try CheckpointDirectory(path: path("absent")).loadConfig()
        }
    }

    func testLoad_whenNoWeightsFile_namesTheFilesLookedFor() throws {
        assertCheckpointError(.notFound, mentions: [dir, "model.safetensors", "model.safetensors.index.json"]) {
            _ = try CheckpointDirectory(path: dir).loadTensors()
        }
        try write("pytorch_model.bin", Data([0]))
        assertCheckpointError(.notFound, mentions: ["pytorch_model.bin", "only safetensors"]) {
            _ = try CheckpointDirectory(path: dir).loadTensors()
        }
    }

    func testShardFileName_matchesTransformers() {
        XCTAssertEqual(CheckpointDirectory.shardFileName(index: 2, of: 13), "model-00002-of-00013.safetensors")
    }
}
