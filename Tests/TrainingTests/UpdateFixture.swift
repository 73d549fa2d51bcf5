import Foundation
import Model
import TestSupport
import Training
import XCTest

/// `Fixtures/update`, written by Scripts/fixtures/make_update_fixture.py (README.md beside it):
/// a tiny random actor and critic, a recorded batch of 4 prompts × 2 answers, and for each case
/// (PPO actor with ptx, PPO critic, GRPO, RLOO) its settings, the advantages PyTorch/numpy
/// computed from the scores and the KL, the mean figures of the update, and the weights after
/// one iteration of the trainer, computed in float64 by PyTorch.
struct UpdateFixture {
    let directory: String
    private let json: [String: Any]

    /// One case of the fixture.
    struct Case {
        var name: String
        var algorithm: RLAlgorithmConfig.Algorithm
        /// "policy" (PolicyTrainer) or "value" (ValueTrainer).
        var trainer: String
        var klCoef: Double
        var totalUpdates: Int
        var ptx: Bool
        /// `RLAlgorithmConfig` properties (Swift names) set over the algorithm's defaults.
        var settings: [String: Any]
        /// (B) per row, each row's real tokens: log π_old of this case, and what PyTorch expects.
        var logProbs: [[Double]], advantages: [[Double]], returns: [[Double]]
        /// The update's figures as `update` returns them (means over the updates, the last rate).
        var figures: [String: Double]
        /// File of the weights after the update, in `directory`.
        var expected: String
    }

    static func load() throws -> UpdateFixture {
        let root = try XCTUnwrap(Bundle.module.resourcePath, "test resources")
        let directory = "\(root)/Fixtures/update"
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/batch.json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], "batch.json is an object")
        return UpdateFixture(directory: directory, json: json)
    }

    private func value<T>(_ object: [String: Any], _ key: String, as: T.Type = T.self) throws -> T {
        try XCTUnwrap(object[key] as? T, "batch.json: '\(key)' missing or not a \(T.self)")
    }

    private func rows(_ object: [String: Any], _ key: String) throws -> [[Double]] {
        try value(object, key, as: [[NSNumber]].self).map { $0.map(\.doubleValue) }
    }

    var padID: Int { (json["pad_id"] as? Int) ?? 0 }

    func testCase(_ name: String) throws -> Case {
        let cases = try value(json, "cases", as: [String: Any].self)
        let c = try value(cases, name, as: [String: Any].self)
        let algorithm = try XCTUnwrap(RLAlgorithmConfig.Algorithm(rawValue: try value(c, "algorithm")), "\(name): algorithm")
        return Case(name: name, algorithm: algorithm, trainer: try value(c, "trainer"), klCoef: try value(c, "kl_coef"),
                    totalUpdates: try value(c, "total_updates"), ptx: try value(c, "ptx"), settings: try value(c, "config"),
                    logProbs: try rows(c, "logprobs"), advantages: try rows(c, "advantages"), returns: try rows(c, "returns"),
                    figures: try value(c, "figures", as: [String: NSNumber].self).mapValues(\.doubleValue),
                    expected: try value(c, "expected"))
    }

    /// The algorithm's defaults with the case's settings over them, set through the config's
    /// Codable form (as the topology reader sets its keys). A setting that is not a property of
    /// `RLAlgorithmConfig` fails, so a renamed field cannot be skipped silently.
    func config(_ c: Case) throws -> RLAlgorithmConfig {
        let defaults = RLAlgorithmConfig(algorithm: c.algorithm)
        let properties = Set(Mirror(reflecting: defaults).children.compactMap(\.label))
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(defaults)) as? [String: Any])
        for (key, setting) in c.settings {
            XCTAssertTrue(properties.contains(key), "\(c.name): '\(key)' is not a setting of RLAlgorithmConfig")
            object[key] = setting is NSNull ? nil : setting
        }
        return try JSONDecoder().decode(RLAlgorithmConfig.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// The recorded batch with the case's old log-probabilities; advantages not yet computed.
    func batch(_ c: Case) throws -> ExperienceBatch {
        let prompts = try value(json, "prompts", as: [[Int32]].self), responses = try value(json, "responses", as: [[Int32]].self)
        var batch = ExperienceBatch(prompts: prompts, responses: responses, padID: Int32(padID),
                                    batchID: try value(json, "batch_id"), groupSize: try value(json, "group_size"))
        batch.ended = try value(json, "ended", as: [UInt8].self)
        batch.scores = try value(json, "scores", as: [NSNumber].self).map(\.floatValue)
        batch.logProbs = grid(c.logProbs, batch)
        batch.refLogProbs = grid(try rows(json, "ref_logprobs"), batch)
        batch.values = grid(try rows(json, "values"), batch)
        try batch.validate(vocabSize: 1 << 20)
        return batch
    }

    /// Ragged rows as the (B, R) grid of a batch, zero at padding (exact: the values are Floats).
    func grid(_ rows: [[Double]], _ batch: ExperienceBatch) -> [Float] {
        var out = [Float](repeating: 0, count: batch.B * batch.responseWidth)
        for (b, row) in rows.enumerated() { for (j, x) in row.enumerated() { out[b * batch.responseWidth + j] = Float(x) } }
        return out
    }

    /// The ptx sequences, their batch size and seed (loss on every token after the first).
    func ptxData() throws -> PTXData {
        let ptx = try value(json, "ptx", as: [String: Any].self)
        let sequences = try value(ptx, "sequences", as: [[Int]].self).map {
            TokenSequence(ids: $0, lossMask: [Bool](repeating: true, count: $0.count))
        }
        return try PTXData(sequences: sequences, batchSize: try value(ptx, "batch_size"), seed: try value(ptx, "seed"),
                           file: "\(directory)/batch.json")
    }

    /// The expected weights laid out as `model`'s parameter block.
    func expectedWeights(_ c: Case, for model: Llama) throws -> [Float] {
        let tensors = try SafeTensors.read(contentsOf: "\(directory)/\(c.expected)")
        var out = [Float](repeating: .nan, count: model.layout.count)
        for e in model.layout.entries {
            let t = try XCTUnwrap(tensors[e.name], "\(c.expected): no '\(e.name)'")
            XCTAssertEqual(t.shape, e.shape, "\(c.expected): '\(e.name)'")
            out.replaceSubrange(e.offset..<(e.offset + e.count), with: t.data)
        }
        return out
    }

    /// "tensor[index]" of a position in `model`'s parameter block.
    static func label(_ model: Llama) -> (Int) -> String {
        let entries = model.layout.entries
        return { i in
            guard let e = entries.first(where: { i >= $0.offset && i < $0.offset + $0.count }) else { return "element \(i)" }
            return "\(e.name)[\(i - e.offset)]"
        }
    }
}
