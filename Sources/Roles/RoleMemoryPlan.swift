import Foundation
import Model
import Training

/// What a role's tensors need, computed from the model configurations and the batch shapes
/// before anything is allocated: the weights, and for a trainer its gradients, AdamW's two
/// moments and the activations of one mini-batch; for whoever generates the KV cache and the
/// decoding workspace of its share of the batch; for every model the activations of one scoring
/// chunk (forward only). Each role reports it beside its peak resident memory, and `rlhf launch`
/// refuses a topology whose roles on a host need more than the host has.
public struct RoleMemoryPlan: Sendable, Equatable {
    /// One line of the plan: what it is for, and its bytes.
    public struct Share: Sendable, Equatable {
        public var what: String
        public var bytes: Int
    }

    public let role: RoleName
    public private(set) var shares: [Share] = []

    /// Bytes of every share.
    public var tensorBytes: Int { shares.reduce(0) { $0 + $1.bytes } }

    /// Resident memory of a role process that holds no tensor yet: the Swift runtime, OpenBLAS's
    /// and ZeroMQ's buffers and threads, the code. Measured on the demo's rule-reward process
    /// (37 MB) and the buffer (44 MB); counted once per process by the launch check.
    public static let processBaselineBytes = 48 << 20

    init(role: RoleName) { self.role = role }

    mutating func add(_ what: String, _ bytes: Int) {
        guard bytes > 0 else { return }
        shares.append(Share(what: what, bytes: bytes))
    }

    /// "actor needs 1.2 GiB: weights 306 MiB, gradients 306 MiB, ..." for logs and refusals.
    public var summary: String {
        if shares.isEmpty { return "\(role.rawValue) holds no tensors" }
        return "\(role.rawValue) needs \(Self.mib(tensorBytes)) for its tensors (" + shares.map { "\($0.what) \(Self.mib($0.bytes))" }.joined(separator: ", ") + ")"
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}

extension RoleMemoryPlan {
    /// The plan of `role` (one replica of it) in the run `plan` describes, from the
    /// `config.json` of the models that role loads (and no other: a host has only its roles' files).
    /// - Throws: when a configuration cannot be read.
    public static func of(_ role: RoleName, in plan: RunPlan) throws -> RoleMemoryPlan {
        func config(_ directory: String) throws -> LlamaConfig { try LlamaConfig.load(contentsOf: "\(directory)/config.json") }
        var out = RoleMemoryPlan(role: role)
        let a = plan.algorithm
        let rows = a.promptsPerIteration * a.samplesPerPrompt
        let generated = a.generatedPromptsPerIteration * a.samplesPerPrompt
        let length = a.maxPromptLength + a.maxNewTokens
        let threads = max(1, plan.threads[role] ?? 1)
        func scoring(_ c: LlamaConfig) -> Int {
            let T = paddedLength(length, c)
            return TrainingActivations.bytes(config: c, B: min(ActivationPool.scoringChunkRows(config: c, T: T), rows), T: T, withLogits: false,
                                             forScoring: true, threads: threads)
        }
        func training(_ c: LlamaConfig) -> Int {
            TrainingActivations.bytes(config: c, B: min(a.miniBatchSize, rows), T: paddedLength(length, c), withLogits: false, forScoring: false,
                                      threads: threads)
        }
        switch role {
        case .actor:
            let c = try config(plan.actorModel)
            let weights = parameterBytes(c)
            let trainable = plan.actorLoRA.flatMap { $0.parameterCount(for: c) }.map { 4 * $0 } ?? weights
            out.add("weights", weights)
            if plan.actorLoRA != nil { out.add("adapters", trainable) }
            out.add("gradients", trainable)
            out.add("optimizer moments", 2 * trainable)
            if a.actorEMA != nil { out.add("EMA weights", trainable) }
            out.add("policy versions kept (max_staleness + 1)", (a.maxStaleness + 1) * trainable)
            out.add("activations of a mini-batch", training(c))
            out.add("scoring chunk", scoring(c))
            if !plan.hasGenerator {
                out.add("generator's copy of the weights", weights)
                if a.generationPrecision == .bfloat16 { out.add("its bfloat16 copy", weights / 2) }
                out.add("KV cache and decoding workspace", generationBytes(c, rows: generated, prompts: a.generatedPromptsPerIteration,
                                                                           prompt: a.maxPromptLength, capacity: length))
            }
        case .generator:
            let c = try config(plan.actorModel)
            let share = (generated + plan.endpoints(of: .generator).count - 1) / max(1, plan.endpoints(of: .generator).count)
            out.add("weights", parameterBytes(c))
            if a.generationPrecision == .bfloat16 { out.add("bfloat16 copy", parameterBytes(c) / 2) }
            let promptShare = (a.generatedPromptsPerIteration + plan.endpoints(of: .generator).count - 1) / max(1, plan.endpoints(of: .generator).count)
            out.add("KV cache and decoding workspace", generationBytes(c, rows: share, prompts: promptShare, prompt: a.maxPromptLength, capacity: length))
            out.add("scoring chunk", scoring(c))
        case .reference:
            let c = try config(plan.referenceModel)
            out.add("weights", parameterBytes(c))
            out.add("scoring chunk", scoring(c))
        case .reward:
            if case .model(let path) = plan.reward {
                let c = try config(path)
                out.add("weights", parameterBytes(c))
                out.add("scoring chunk", scoring(c))
            }
        case .critic:
            if let path = plan.criticModel {
                let c = try config(path)
                let weights = parameterBytes(c)
                out.add("weights", weights)
                out.add("gradients", weights)
                out.add("optimizer moments", 2 * weights)
                out.add("activations of a mini-batch", training(c))
                out.add("scoring chunk", scoring(c))
            }
        case .buffer:
            // Batches waiting (max_staleness + 2 at most): tokens and about ten per-token fields.
            out.add("experience batches", (a.maxStaleness + 2) * rows * length * 4 * 12)
        }
        return out
    }

    /// Float32 parameters of `c` with the head its architecture names.
    static func parameterBytes(_ c: LlamaConfig) -> Int {
        4 * ParameterLayout(config: c, head: c.defaultHead).count
    }

    /// The length the activations held for sequences of up to `length` tokens are made for.
    static func paddedLength(_ length: Int, _ c: LlamaConfig) -> Int {
        ActivationPool.capacityLength(min(length, c.maxPositionEmbeddings), config: c)
    }

    /// Keys and values of `rows` sequences of up to `capacity` positions, their last logits, and
    /// the workspace of the prefill (each of the `prompts` distinct prompts once, in one pass:
    /// the samples of a group share their prompt's), which is the decoding pass's largest.
    static func generationBytes(_ c: LlamaConfig, rows: Int, prompts: Int, prompt: Int, capacity: Int) -> Int {
        let kv = c.numKeyValueHeads * c.headDim, attention = c.numAttentionHeads * c.headDim
        let QKV = attention + 2 * kv
        let cache = rows * capacity * c.numHiddenLayers * 2 * kv + rows * c.vocabSize
        let prefill = prompts * prompt
        let workspace = prefill * (3 * c.hiddenSize + QKV + attention + 3 * c.intermediateSize + 1) + c.numAttentionHeads * prompt * capacity
        return 4 * (cache + workspace)
    }
}

extension RoleMemoryPlan {
    /// Refuses, before anything starts, a share of a run whose processes need more memory than
    /// `availableBytes`: each process's tensors (`of`) plus the runtime every process holds.
    /// - Parameters:
    ///   - processes: the processes to start: each role with its number of replicas (a
    ///     one-process run: every role once, and one runtime).
    ///   - oneProcess: whether they all run in one process (one runtime, not one per role).
    ///   - host: named in the refusal.
    /// - Returns: the plans, for a log line.
    /// - Throws: `RoleError(.badInput)` with every role's figures when they do not fit (a role
    ///   whose configuration cannot be read counts its runtime only).
    @discardableResult
    public static func check(_ plan: RunPlan, processes: [(role: RoleName, count: Int)], oneProcess: Bool, host: String,
                             availableBytes: Int = SystemMemory.bytes) throws -> [RoleMemoryPlan] {
        // A configuration that cannot be read here is the role's to report when it loads it,
        // with its own error: its tensors are left out of this sum.
        let planned = processes.compactMap { spec in (try? of(spec.role, in: plan)).map { ($0, spec) } }
        let plans = planned.map(\.0)
        let processCount = oneProcess ? 1 : processes.reduce(0) { $0 + $1.count }
        var total = processCount * processBaselineBytes
        for (p, spec) in planned { total += p.tensorBytes * spec.count }
        guard total <= availableBytes else {
            let lines = planned.map { p, spec in "  " + (spec.count > 1 ? "\(spec.count) x " : "") + p.summary }
            throw RoleError(.badInput, "the roles on host \(host) need \(mib(total)) (\(processCount) process(es) of "
                            + "\(mib(processBaselineBytes)) runtime each, and their tensors) but this machine has \(mib(availableBytes)):\n"
                            + lines.joined(separator: "\n")
                            + "\nmove roles to other hosts, use smaller batches (prompts_per_iteration, samples_per_prompt, mini_batch_size, max_new_tokens), "
                            + "train LoRA adapters, or pass --skip-memory-check if these figures are wrong for your case")
        }
        return plans
    }
}
