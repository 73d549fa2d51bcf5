import Foundation
import Model
import Tensor
import TestSupport
import XCTest

/// LoRA adapters through the whole model: gradients against finite differences, the B = 0 and
/// merge identities, the inference path, the frozen base, and saving in PEFT's layout.
final class LoRATests: XCTestCase {
    static let allTargets = LoRATarget.allCases

    /// A tiny random model with adapters whose B is random too (with B = 0 the gradient of A is 0
    /// and most checks would pass vacuously).
    func makeModel(bias: Bool = false, targets: [LoRATarget] = allTargets, dropout: Double = 0,
                   trainBase: Bool = false) -> (Llama, LoRAAdapters) {
        let model = Llama(config: LlamaGradientTests.tinyConfig(bias: bias))
        model.initializeRandom(seed: 5, std: 0.5)
        let adapters = LoRAAdapters(config: LoRAConfig(r: 3, alpha: 6, dropout: dropout, targetModules: targets), for: model, seed: 11)
        randomizeB(adapters, seed: 12)
        model.attach(adapters, trainBase: trainBase)
        return (model, adapters)
    }

    func randomizeB(_ adapters: LoRAAdapters, seed: UInt64, scale: Float = 0.4) {
        var rng = SplitMix64(seed: seed)
        for e in adapters.layout.entries where e.name.contains("lora_B") {
            for i in 0..<e.count { adapters.parameters[e.offset + i].pointee = (rng.nextFloat() * 2 - 1) * scale }
        }
    }

    struct Batch {
        let B = 2, T = 5
        let ids: [Int32], targets: [Int32]
        init(seed: UInt64 = 9) {
            var rng = SplitMix64(seed: seed)
            let ids: [Int32] = (0..<10).map { _ in Int32(rng.next() % 13) }
            self.ids = ids
            targets = (0..<10).map { n in n % 5 == 4 ? -1 : ids[n + 1] }
        }
    }

    /// Mean cross-entropy of `batch`; leaves log-probs and logits in `acts`.
    @discardableResult
    func loss(_ model: Llama, _ batch: Batch, _ acts: TrainingActivations) -> Double {
        model.forward(ids: batch.ids, acts: acts)
        model.languageModelForward(targets: batch.targets, acts: acts)
        var total = 0.0, count = 0.0
        for n in 0..<(batch.B * batch.T) where batch.targets[n] >= 0 {
            total -= Double(acts.logprobs[n].pointee)
            count += 1
        }
        return total / count
    }

    func backward(_ model: Llama, _ batch: Batch, _ acts: TrainingActivations) {
        var dlogp = [Float](repeating: 0, count: batch.B * batch.T)
        _ = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: batch.targets, N: batch.B * batch.T)
        model.languageModelBackward(dlogprobs: dlogp, targets: batch.targets, acts: acts)
        model.backward(acts: acts)
    }

    func logits(_ model: Llama, _ batch: Batch) -> [Float] {
        let acts = TrainingActivations(model: model, B: batch.B, T: batch.T)
        loss(model, batch, acts)
        return acts.logits.array
    }

    // MARK: - Gradients

    func checkGradients(bias: Bool, dropout: Double) {
        let (model, adapters) = makeModel(bias: bias, dropout: dropout)
        let batch = Batch()
        let acts = TrainingActivations(model: model, B: batch.B, T: batch.T)
        // Every evaluation uses the same dropout masks: the counter is reset before each forward.
        func f() -> Double {
            adapters.dropoutCounter = 0
            return loss(model, batch, acts)
        }
        _ = f()
        let grads = adapters.enableGradients()
        grads.zero()
        backward(model, batch, acts)
        let analytic = grads.array
        XCTAssertNil(model.gradients, "the frozen base must not allocate gradients")
        let p = adapters.parameters.pointer
        let worst = BlockGradientCheck.compare(entries: adapters.layout.entries, values: p, analytic: analytic, perTensor: 5) { f() }
        XCTAssertTrue(worst.passed, "\(worst)")
        XCTAssertGreaterThan(worst.nonZero, adapters.layout.entries.count, "gradients should not be mostly zero")
    }

    func testAdapterGradients_matchFiniteDifferences() { checkGradients(bias: false, dropout: 0) }
    func testAdapterGradients_withQKVBiasAndDropout_matchFiniteDifferences() { checkGradients(bias: true, dropout: 0.3) }

    /// Backward with a frozen base neither allocates nor touches the base gradients; with the base
    /// training and B = 0, the base gradients are those of the model without adapters.
    func testBaseGradients_untouchedWhenFrozen_unchangedByZeroAdapters() {
        let batch = Batch()
        let (model, adapters) = makeModel()
        let acts = TrainingActivations(model: model, B: batch.B, T: batch.T)
        loss(model, batch, acts)
        backward(model, batch, acts)
        XCTAssertNil(model.gradients)
        let sentinel = model.enableGradients()
        sentinel.pointer.update(repeating: 7, count: sentinel.count)
        loss(model, batch, acts)
        backward(model, batch, acts)
        XCTAssertTrue(sentinel.array.allSatisfy { $0 == 7 }, "a frozen base's gradients changed")
        XCTAssertTrue(adapters.gradients!.array.contains { $0 != 0 })

        let plain = Llama(config: model.config)
        plain.initializeRandom(seed: 5, std: 0.5)
        let plainActs = TrainingActivations(model: plain, B: batch.B, T: batch.T)
        loss(plain, batch, plainActs)
        plain.enableGradients().zero()
        backward(plain, batch, plainActs)
        let zeroB = LoRAAdapters(config: adapters.config, for: plain, seed: 3)
        plain.attach(zeroB, trainBase: true)
        let withoutAdapters = plain.gradients!.array
        plain.gradients!.zero()
        loss(plain, batch, plainActs)
        backward(plain, batch, plainActs)
        XCTAssertEqual(plain.gradients!.array, withoutAdapters, "B = 0 adapters changed the base gradients")
    }

    // MARK: - Identities

    /// Fresh adapters (B = 0, as PEFT initialises) leave the model's output exactly unchanged.
    func testFreshAdapters_outputEqualsBase() {
        let model = Llama(config: LlamaGradientTests.tinyConfig(bias: true))
        model.initializeRandom(seed: 5, std: 0.5)
        let batch = Batch()
        let base = logits(model, batch)
        let adapters = LoRAAdapters(config: LoRAConfig(r: 4, alpha: 8, targetModules: Self.allTargets), for: model, seed: 1)
        XCTAssertTrue(adapters.parameters.array.contains { $0 != 0 }, "A should be random")
        model.attach(adapters)
        XCTAssertEqual(logits(model, batch), base)
    }

    /// Merging folds the adapters into the weights: the plain merged model computes what the
    /// adapted one did, and differs from the base.
    func testMergedModel_matchesAdaptedModel() {
        let (model, _) = makeModel(bias: true)
        let batch = Batch()
        let adapted = logits(model, batch)
        let before = model.parameters.array
        model.mergeAdapters()
        XCTAssertNil(model.adapters)
        XCTAssertTrue(model.trainsBase)
        let merged = logits(model, batch)
        let c = Closeness(merged, adapted, atol: 1e-5)
        XCTAssertTrue(c.passed, "merged vs adapted logits: \(c)")
        XCTAssertNotEqual(model.parameters.array, before)
    }

    /// The KV-cache inference path applies the adapters as the training forward does, and never
    /// applies dropout: with adapters in training mode (`appliesDropout` on, dropout 0.2), the
    /// cached path gives the training forward's output without dropout, draws no dropout seed,
    /// and the training forward with dropout really differs (so the dropout was on to ignore).
    func testInferencePath_matchesTrainingForwardWithoutDropout_evenWithDropoutOn() throws {
        for targets in [Self.allTargets, [.q, .v]] as [[LoRATarget]] {
            let (model, adapters) = makeModel(bias: true, targets: targets, dropout: 0.2)
            let ids: [Int32] = [1, 7, 3, 12, 0, 5, 9]
            let T = ids.count
            func trainingLogits() -> [Float] {
                let acts = TrainingActivations(model: model, B: 1, T: T)
                model.forward(ids: ids, acts: acts)
                model.languageModelForward(targets: [Int32](repeating: 0, count: T), acts: acts)
                return acts.logits.array
            }
            adapters.appliesDropout = false
            let withoutDropout = trainingLogits()
            adapters.appliesDropout = true
            let withDropout = trainingLogits()
            XCTAssertFalse(Closeness(withDropout, withoutDropout, atol: 1e-3).passed, "\(targets): dropout 0.2 should change the training forward")
            let counter = adapters.dropoutCounter
            let cache = try KVCache(model: model, batch: 1, capacity: T)
            var out = model.inferenceForward([TokenSegment(sequence: 0, tokens: Array(ids[0..<3]))], cache: cache)
            for t in 2..<T {
                let c = Closeness(out, withoutDropout[(t * 13)..<((t + 1) * 13)], atol: 1e-4)
                XCTAssertTrue(c.passed, "\(targets) position \(t): inference (dropout on) vs training forward without dropout: \(c)")
                if t + 1 < T { out = model.inferenceForward([TokenSegment(sequence: 0, tokens: [ids[t + 1]])], cache: cache) }
            }
            XCTAssertEqual(adapters.dropoutCounter, counter, "inference drew dropout masks")
            XCTAssertTrue(adapters.appliesDropout, "inference must not need dropout turned off")
        }
    }

    /// Greedy generation with the adapters and with them merged gives the same tokens.
    func testMergedModel_generatesAsAdaptedModel() throws {
        let (model, _) = makeModel(bias: true, dropout: 0.1)
        let prompts: [[Int]] = [[1, 7, 3], [4], [2, 11, 5, 8, 0]]
        let adapted = try Generator(model: model).generate(prompts: prompts, maxNewTokens: 12).newTokens
        let plain = Llama(config: model.config)
        plain.initializeRandom(seed: 5, std: 0.5)
        XCTAssertNotEqual(try Generator(model: plain).generate(prompts: prompts, maxNewTokens: 12).newTokens, adapted,
                          "the adapters should change the generations, or the comparison proves nothing")
        model.mergeAdapters()
        XCTAssertEqual(try Generator(model: model).generate(prompts: prompts, maxNewTokens: 12).newTokens, adapted)
    }

    /// Dropout masks depend on (seed, counter) only; each training forward draws new ones, and
    /// turning dropout off gives the deterministic output.
    func testDropout_isSeededAndOffWhenDisabled() {
        let (model, adapters) = makeModel(dropout: 0.3)
        let batch = Batch()
        adapters.dropoutCounter = 5
        let a = logits(model, batch)
        XCTAssertEqual(adapters.dropoutCounter, 6)
        let b = logits(model, batch)
        adapters.dropoutCounter = 5
        XCTAssertEqual(logits(model, batch), a)
        XCTAssertNotEqual(a, b)
        adapters.appliesDropout = false
        let off = logits(model, batch)
        XCTAssertEqual(adapters.dropoutCounter, 6, "a pass without dropout draws no seed")
        XCTAssertEqual(logits(model, batch), off)
        XCTAssertNotEqual(off, a)
    }

    /// A few AdamW steps on the adapters alone lower the loss and leave the base bit for bit.
    func testAdapterOnlyTraining_lowersLossAndKeepsBase() {
        let model = Llama(config: LlamaGradientTests.tinyConfig())
        model.initializeRandom(seed: 5, std: 0.5)
        let base = model.parameters.array
        let adapters = LoRAAdapters(config: LoRAConfig(r: 4, alpha: 8, targetModules: Self.allTargets), for: model, seed: 2)
        model.attach(adapters)
        let opt = AdamW(adapters: adapters, hyperparameters: .init(weightDecay: 0.01))
        let batch = Batch()
        let acts = TrainingActivations(model: model, B: batch.B, T: batch.T)
        let first = loss(model, batch, acts)
        var last = first
        for _ in 0..<20 {
            adapters.enableGradients().zero()
            backward(model, batch, acts)
            opt.update(parameters: adapters.parameters, gradients: adapters.gradients!, lr: 1e-2)
            last = loss(model, batch, acts)
        }
        XCTAssertLessThan(last, first * 0.9)
        XCTAssertEqual(model.parameters.array, base)
    }

    // MARK: - Files

    /// Saved adapters load back bit for bit with the same configuration, under PEFT's names.
    func testSaveThenLoad_isIdentical() throws {
        let (model, adapters) = makeModel(targets: [.q, .k, .o, .down], dropout: 0.05)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.saveAdapters(directory: dir)
        let header = try SafeTensors.readHeader(contentsOf: dir + "/adapter_model.safetensors")
        XCTAssertTrue(header.entries.contains { $0.name == "base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight" && $0.shape == [4, 3] })
        XCTAssertEqual(header.entries.count, 2 * 2 * 4)
        let other = Llama(config: model.config)
        let back = try other.loadAdapters(directory: dir)
        XCTAssertEqual(back.config, adapters.config)
        XCTAssertEqual(back.parameters.array, adapters.parameters.array)
        XCTAssertTrue(other.adapters === back)
        XCTAssertFalse(other.trainsBase)
    }

    /// A SEQ_CLS adapter carries the score head (PEFT's modules_to_save), and loading puts it back.
    func testSequenceClassificationAdapter_savesScoreHead() throws {
        var config = LlamaGradientTests.tinyConfig()
        config.architecture = "LlamaForSequenceClassification"
        config.numLabels = 1
        let model = Llama(config: config)
        model.initializeRandom(seed: 4)
        let adapters = LoRAAdapters(config: LoRAConfig(taskType: .sequenceClassification), for: model)
        model.attach(adapters)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.saveAdapters(directory: dir)
        XCTAssertNotNil(try SafeTensors.read(contentsOf: dir + "/adapter_model.safetensors")["base_model.model.score.weight"])
        let other = Llama(config: config)
        try other.loadAdapters(directory: dir)
        let score = model.layout.entry(named: "score.weight")!
        XCTAssertEqual(Array(UnsafeBufferPointer(start: other.parameters[score.offset], count: score.count)),
                       Array(UnsafeBufferPointer(start: model.parameters[score.offset], count: score.count)))
        XCTAssertEqual(try LoRAConfig.load(contentsOf: dir).modulesToSave, ["classifier", "score"])
    }

    /// Adapters for another model shape are refused, naming the file and tensor.
    func testLoadIntoAnotherShape_namesTensor() throws {
        let (model, _) = makeModel()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.saveAdapters(directory: dir)
        var wider = model.config
        wider.intermediateSize = 16
        XCTAssertThrowsError(try Llama(config: wider).loadAdapters(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("adapter_model.safetensors") && "\(e)".contains("gate_proj.lora_B.weight")
                          && "\(e)".contains("shape"), "\(e)")
        }
        var deeper = model.config
        deeper.numHiddenLayers = 1
        XCTAssertThrowsError(try Llama(config: deeper).loadAdapters(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("layers.1.") && "\(e)".contains("unexpected tensor"), "\(e)")
        }
        try FileManager.default.removeItem(atPath: dir + "/adapter_model.safetensors")
        XCTAssertThrowsError(try Llama(config: model.config).loadAdapters(directory: dir)) { e in
            XCTAssertEqual((e as? CheckpointError)?.code, .notFound)
            XCTAssertTrue("\(e)".contains("adapter_model.safetensors"), "\(e)")
        }
    }
}
