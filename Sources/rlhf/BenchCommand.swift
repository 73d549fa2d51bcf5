import ArgumentParser
import Foundation
import Model
import Tensor

/// `rlhf bench train|generate|digest|tokenize`: throughput figures (with the BLAS kernel and the sgemm peak beside the model ones).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure training and generation throughput.",
        subcommands: [BenchTrain.self, BenchGenerate.self, BenchDigest.self, BenchTokenize.self])
}

/// Options shared by both benchmarks.
struct BenchModelOptions: ParsableArguments {
    @Option(help: "Model directory (config.json + safetensors). Without it, a random model of the reference benchmark shape: vocab 4096, hidden 256, intermediate 688, 4 layers, 8 heads, 4 KV heads, untied.")
    var model: String?

    @Option(help: "Seed for the random model and the random tokens.")
    var seed: UInt64 = 1

    @Flag(help: "Skip measuring the sgemm peak.")
    var noPeak = false

    @Option(help: "Attach LoRA adapters of this rank (alpha = 2r); bench train then trains only them, on a frozen base.")
    var loraR: Int?

    @Option(help: "Comma-separated layers adapted with --lora-r.")
    var loraTargets = "q_proj,v_proj"

    /// Attaches seeded adapters when --lora-r is given.
    func attachAdapters(to model: Llama) throws -> LoRAAdapters? {
        guard let r = loraR else { return nil }
        let targets = try loraTargets.split(separator: ",").map { name in
            guard let t = LoRATarget(rawValue: String(name)) else { throw ValidationError("--lora-targets: unknown layer \(name)") }
            return t
        }
        let adapters = LoRAAdapters(config: LoRAConfig(r: r, alpha: Double(2 * r), targetModules: targets), for: model, seed: seed)
        model.attach(adapters)
        return adapters
    }

    /// The LoRA fields of a result line.
    var loraFields: [String: Any] { loraR.map { ["lora_r": $0, "lora_targets": loraTargets] } ?? [:] }

    static let referenceShape = LlamaConfig(
        vocabSize: 4096, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 8,
        numKeyValueHeads: 4, maxPositionEmbeddings: 2048)

    func loadModel() throws -> Llama {
        if let dir = model { return try ModelLoading.load(directory: dir) }
        let m = Llama(config: Self.referenceShape)
        m.initializeRandom(seed: seed)
        return m
    }

    func environmentFields() -> [String: Any] {
        var f: [String: Any] = ["blas_core": BLAS.coreName, "kernels": VectorMath.kernelSet, "threads": BLAS.threads, "compute_threads": Parallel.threads]
        if !noPeak { f["sgemm_peak_gflops"] = round1(BLAS.measurePeakGFLOPS()) }
        return f
    }
}

func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Forward + backward + AdamW on random tokens; prints one JSON line.")

    @OptionGroup var options: BenchModelOptions
    @Option var batch = 8
    @Option var seq = 256
    @Option var steps = 10
    @Option(help: "Untimed steps first.") var warmup = 2

    func run() throws {
        let model = try options.loadModel()
        let B = batch, T = seq, N = B * T
        guard T <= model.config.maxPositionEmbeddings else {
            throw ValidationError("--seq \(T) exceeds the model's max_position_embeddings \(model.config.maxPositionEmbeddings)")
        }
        let acts = TrainingActivations(model: model, B: B, T: T, withLogits: false)
        var rng = SplitMix64(seed: options.seed)
        let V = model.config.vocabSize
        let tokens: [Int32] = (0..<(N + 1)).map { _ in Int32(rng.next() % UInt64(V)) }
        let ids = Array(tokens[0..<N]), targets = Array(tokens[1...N])
        var dlogp = [Float](repeating: 0, count: N)
        var grads: FloatBuffer, opt: AdamW, trained: FloatBuffer
        if let adapters = try options.attachAdapters(to: model) {
            grads = adapters.enableGradients()
            opt = AdamW(adapters: adapters, hyperparameters: .init(weightDecay: 0.01))
            trained = adapters.parameters
        } else {
            grads = model.enableGradients()
            opt = AdamW(layout: model.layout, hyperparameters: .init(weightDecay: 0.01))
            trained = model.parameters
        }
        var lastLoss: Float = 0
        func step() {
            model.forward(ids: ids, acts: acts)
            model.languageModelForward(targets: targets, acts: acts, keepLogits: false)
            lastLoss = LogProbs.crossEntropy(dlogprobs: &dlogp, logprobs: acts.logprobs.pointer, targets: targets, N: N).loss
            grads.zero()
            model.languageModelBackward(dlogprobs: dlogp, targets: targets, acts: acts)
            model.backward(acts: acts)
            GradientClipping.clip(grads, maxNorm: 1)
            opt.update(parameters: trained, gradients: grads, lr: 1e-4)
        }
        for _ in 0..<warmup { step() }
        let t = seconds { for _ in 0..<steps { step() } }
        // Backward is two forwards' worth (input and weight gradients), one with a frozen base.
        let flops = (options.loraR == nil ? 3 : 2) * model.forwardFLOPs(tokens: N, context: (T + 1) / 2) * Double(steps)
        var out = options.environmentFields()
        out.merge([
            "bench": "train", "impl": "rlhf", "batch": B, "seq": T, "steps": steps, "params": model.parameterCount,
            "tokens_per_s": round1(Double(N * steps) / t), "step_ms": round1(t / Double(steps) * 1000),
            "gflops": round1(flops / t / 1e9), "loss": Double(lastLoss), "trainable_params": trained.count,
        ]) { $1 }
        out.merge(options.loraFields) { $1 }
        try printJSON(out)
    }
}

struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Greedy generation from random prompts with the KV cache; prints one JSON line.")

    @OptionGroup var options: BenchModelOptions
    @Option var batch = 8
    @Option var promptLen = 32
    @Option var newTokens = 64
    @Option(help: "Timed repeats (the best is reported).") var repeats = 3
    @Option(help: "Weights the products read: float32 or bfloat16 (float32 sums either way).")
    var precision = GenerationPrecision.float32
    @Flag(help: "Also sample at temperature 1 and compare each sampled token's log-probability as drawn with the one the trainer's float32 forward gives it (logprob_drift: max and mean absolute difference).")
    var logprobDrift = false

    func run() throws {
        let model = try options.loadModel()
        var rng = SplitMix64(seed: options.seed)
        let V = model.config.vocabSize
        let prompts = (0..<batch).map { _ in (0..<promptLen).map { _ in Int(rng.next() % UInt64(V)) } }
        _ = try options.attachAdapters(to: model)
        let gen = Generator(model: model, precision: precision)
        _ = try gen.generate(prompts: prompts, maxNewTokens: newTokens)
        var best = Double.infinity
        var produced = 0
        for _ in 0..<repeats {
            let t = try seconds { produced = try gen.generate(prompts: prompts, maxNewTokens: newTokens).generatedTokens }
            best = min(best, t)
        }
        let flops = model.forwardFLOPs(tokens: batch * promptLen, context: promptLen / 2, headRows: batch)
            + model.forwardFLOPs(tokens: batch * newTokens, context: promptLen + newTokens / 2)
        var out = options.environmentFields()
        out.merge([
            "bench": "generate", "impl": "rlhf", "precision": precision.rawValue, "batch": batch, "prompt_len": promptLen, "new_tokens": newTokens,
            "params": model.parameterCount, "new_tokens_per_s": round1(Double(produced) / best),
            "seconds": best, "gflops": round1(flops / best / 1e9),
        ]) { $1 }
        out.merge(options.loraFields) { $1 }
        if logprobDrift { out["logprob_drift"] = try drift(gen, prompts: prompts) }
        try printJSON(out)
    }

    /// Samples `prompts` at temperature 1 and compares each token's log-probability as drawn
    /// (`precision`'s weights) with the trainer's: the float32 training forward, as PPO's old
    /// log-probabilities are recomputed.
    private func drift(_ gen: Generator, prompts: [[Int]]) throws -> [String: Any] {
        let model = gen.model
        let r = try gen.rollout(prompts: prompts, samplesPerPrompt: 1, maxNewTokens: newTokens,
                                sampling: SamplingParameters(temperature: 1, seed: options.seed), stopTokens: [])
        var worst = 0.0, sum = 0.0, count = 0
        for (row, response) in r.responses.enumerated() {
            let p = r.prompts[row]
            let full = (p + response).map(Int32.init)
            let T = full.count - 1
            let acts = TrainingActivations(model: model, B: 1, T: T, withLogits: false)
            model.forward(ids: Array(full[0..<T]), acts: acts)
            model.languageModelForward(targets: Array(full[1...T]), acts: acts, keepLogits: false)
            for (j, drawn) in r.logProbs[row].enumerated() {
                let d = abs(Double(drawn) - Double(acts.logprobs.pointer[p.count - 1 + j]))
                worst = max(worst, d)
                sum += d
                count += 1
            }
        }
        return ["tokens": count, "max_abs": worst, "mean_abs": sum / Double(max(1, count))]
    }
}
