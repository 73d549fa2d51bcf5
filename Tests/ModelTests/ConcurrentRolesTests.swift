import Foundation
import Model
import Synchronization
import Tensor
import XCTest

/// Two roles in one process, each on its own thread with its own compute context.
final class ConcurrentRolesTests: XCTestCase {
    /// A trainer role: three AdamW steps on a model large enough that its weight products are
    /// split over the context's threads (`BLAS.splitWork`). Returns the final weights.
    static func trainingRole(threads: Int) -> [Float] {
        let context = ComputeContext(threads: threads)
        let cfg = LlamaConfig(vocabSize: 64, hiddenSize: 256, intermediateSize: 512, numHiddenLayers: 1, numAttentionHeads: 4,
                              numKeyValueHeads: 2, maxPositionEmbeddings: 64)
        let model = Llama(config: cfg)
        model.initializeRandom(seed: 7)
        let B = 2, T = 64, N = B * T
        precondition(N * 2 * cfg.intermediateSize * cfg.hiddenSize >= 2 * BLAS.splitWork, "the gate/up product must split")
        let acts = TrainingActivations(model: model, B: B, T: T, withLogits: false, context: context)
        var rng = SplitMix64(seed: 8)
        let ids = (0..<N).map { _ in Int32(rng.next() % 64) }
        let targets = (0..<N).map { $0 % T == T - 1 ? Int32(-1) : ids[$0 + 1] }
        var dlogp = [Float](repeating: 0, count: N)
        let grads = model.enableGradients()
        let opt = AdamW(layout: model.layout, hyperparameters: .init(weightDecay: 0.1))
        for _ in 0..<3 {
            model.forward(ids: ids, acts: acts, context: context)
            model.languageModelForward(targets: targets, acts: acts, keepLogits: false, context: context)
            _ = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: targets, N: N)
            grads.zero()
            model.languageModelBackward(dlogprobs: dlogp, targets: targets, acts: acts, context: context)
            model.backward(acts: acts, context: context)
            GradientClipping.clip(grads, maxNorm: 1)
            opt.update(parameters: model.parameters, gradients: grads, lr: 1e-3, context: context)
        }
        return model.parameters.array
    }

    /// A generator role: sampled tokens for four prompts, one decoding group per thread.
    static func generationRole(threads: Int) -> [[Int]] {
        let m = Llama(config: LlamaGradientTests.tinyConfig(bias: true))
        m.initializeRandom(seed: 3, std: 0.6)
        let generator = Generator(model: m, context: ComputeContext(threads: threads))
        let prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10], [11, 12]]
        var out: [[Int]] = []
        for round in 0..<20 {  // long enough to overlap the trainer
            let s = SamplingParameters(temperature: 1.3, topK: 8, seed: UInt64(21 + round))
            out += try! generator.generate(prompts: prompts, maxNewTokens: 10, sampling: s).newTokens
        }
        return out
    }

    func testTwoRolesAtOnce_giveTheBitsOfEachAlone() {
        let trainedAlone2 = Self.trainingRole(threads: 2)
        let trainedAlone1 = Self.trainingRole(threads: 1)
        XCTAssertTrue(trainedAlone1 == trainedAlone2, "training differs between 1 and 2 threads")
        let generatedAlone = Self.generationRole(threads: 2)
        XCTAssertEqual(Self.generationRole(threads: 1), generatedAlone)
        let results = RoleThreads()
        results.start { results.trained.withLock { $0 = ConcurrentRolesTests.trainingRole(threads: 2) } }
        results.start { results.generated.withLock { $0 = ConcurrentRolesTests.generationRole(threads: 2) } }
        results.start { results.trainedOne.withLock { $0 = ConcurrentRolesTests.trainingRole(threads: 1) } }
        results.wait()
        XCTAssertTrue(results.trained.withLock { $0 } == trainedAlone2, "training beside other roles differs from training alone")
        XCTAssertTrue(results.trainedOne.withLock { $0 } == trainedAlone2, "the one-thread trainer beside others differs")
        XCTAssertEqual(results.generated.withLock { $0 }, generatedAlone, "generation beside a trainer differs from generation alone")
    }
}

/// Threads started together (as roles' compute threads) and the results they leave.
final class RoleThreads: Sendable {
    let trained = Mutex<[Float]?>(nil), trainedOne = Mutex<[Float]?>(nil)
    let generated = Mutex<[[Int]]?>(nil)
    private let done = DispatchSemaphore(value: 0)
    private let started = Mutex(0)

    func start(_ body: @escaping @Sendable () -> Void) {
        started.withLock { $0 += 1 }
        let thread = Thread { [done] in
            body()
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func wait() {
        for _ in 0..<started.withLock({ $0 }) { done.wait() }
    }
}
