import Foundation
import Model
import TestSupport
import XCTest

/// A LoRA adapter made and saved by PEFT (`Scripts/make-fixtures`, fixture `lora-llama`) on the
/// `llama-gqa-f32` base: loaded here, the adapted model and the merged model match PEFT's
/// log-probabilities and logits within 1e-4 and its greedy generations token for token (both of them).
final class LoRAFixtureTests: XCTestCase {
    struct Reference: Decodable {
        var model: String
        var base: String
        var cases: [TransformersFixtureTests.Reference.Case]
        var merged_cases: [TransformersFixtureTests.Reference.Case]
        var generation: [TransformersFixtureTests.Reference.Generation]
    }

    func load() throws -> (Llama, LoRAAdapters, Reference, String) {
        let dir = try TransformersFixtureTests.fixtureDirectory("lora-llama")
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/reference.json")))
        let model = try Llama.load(directory: try TransformersFixtureTests.fixtureDirectory(ref.base))
        let adapters = try model.loadAdapters(directory: dir)
        return (model, adapters, ref, dir)
    }

    func testPEFTAdapter_matchesPEFT() throws {
        let (model, adapters, ref, _) = try load()
        XCTAssertEqual(adapters.config.targetModules, LoRATarget.allCases)
        XCTAssertEqual(adapters.config.r, 4)
        XCTAssertEqual(adapters.config.scaling, 2)
        XCTAssertEqual(adapters.config.dropout, 0.05)
        // PEFT's reference is eval mode: no dropout.
        adapters.appliesDropout = false
        let c = TransformersFixtureTests.closeness(model, ref.cases)
        XCTAssertTrue(c.passed, "adapted model against PEFT: \(c)")
        try TransformersFixtureTests.checkGreedy(model, ref.generation, "lora-llama")
    }

    func testMergedPEFTAdapter_matchesMergeAndUnload() throws {
        let (model, _, ref, _) = try load()
        model.mergeAdapters()
        let c = TransformersFixtureTests.closeness(model, ref.merged_cases)
        XCTAssertTrue(c.passed, "merged model against PEFT's merge_and_unload: \(c)")
        // PEFT's adapted model made these generations; the merged model must make them too.
        try TransformersFixtureTests.checkGreedy(model, ref.generation, "lora-llama merged")
    }

    /// What we save has the tensor names, shapes and configuration PEFT saved.
    func testResave_hasPEFTNamesAndConfig() throws {
        let (model, adapters, _, dir) = try load()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try model.saveAdapters(directory: out)
        let theirs = try SafeTensors.readHeader(contentsOf: dir + "/adapter_model.safetensors").entries
        let ours = try SafeTensors.readHeader(contentsOf: out + "/adapter_model.safetensors").entries
        XCTAssertEqual(ours.map(\.name).sorted(), theirs.map(\.name).sorted())
        XCTAssertEqual(ours.map(\.shape), ours.map { e in theirs.first { $0.name == e.name }!.shape })
        XCTAssertEqual(try LoRAConfig.load(contentsOf: out), adapters.config)
        XCTAssertEqual(try SafeTensors.read(contentsOf: out + "/adapter_model.safetensors"),
                       try SafeTensors.read(contentsOf: dir + "/adapter_model.safetensors"))
    }
}
