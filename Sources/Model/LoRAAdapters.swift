import Foundation
import Tensor

/// A set of LoRA adapters for one base model: one (A, B) pair per adapted linear layer per block,
/// all in one flat parameter block of their own (so an optimizer, a checkpoint or a weight
/// broadcast to generators handles only the adapters), with gradients in the same layout.
///
/// Attach to a ``Llama`` with ``Llama/attach(_:trainBase:)``: its forward passes then compute
/// y = x W^T + scaling * dropout(x) A^T B^T on every adapted layer, and its backward adds into
/// ``gradients``. Saved and loaded in PEFT's layout (`adapter_config.json` +
/// `adapter_model.safetensors`), so adapters trained here load with `PeftModel.from_pretrained`
/// and PEFT adapters load here.
public final class LoRAAdapters {
    /// The file PEFT reads the adapter weights from.
    public static let weightsFileName = "adapter_model.safetensors"

    /// Rank, alpha, dropout and targets.
    public let config: LoRAConfig
    /// Where each A and B sits in `parameters`, under PEFT's names.
    public let layout: LoRALayout
    /// The base model configuration the adapters fit (layer count and projection shapes).
    public let modelConfig: LlamaConfig
    /// Every A and B, in `layout` order, then (for SEQ_CLS adapters of a model with a score
    /// head) the trainable copy of the score head, which the model's score passes use instead
    /// of its own `score.weight` while these adapters are attached.
    public let parameters: FloatBuffer
    /// Gradients in the layout of `parameters`; allocated by `enableGradients()`.
    public private(set) var gradients: FloatBuffer?
    /// Whether the training forward applies dropout (PEFT's train mode). Turn it off to compute
    /// log-probabilities for PPO's old policy or for evaluation; inference never applies it.
    public var appliesDropout = true
    /// Dropout masks are drawn from (dropoutSeed, dropoutCounter, adapter, element); each
    /// training forward that applies dropout advances the counter. Save both to replay a run.
    public var dropoutSeed: UInt64
    public var dropoutCounter: UInt64 = 0
    /// Modules PEFT saved beside the adapters (`modules_to_save`), under their HF names (e.g.
    /// `score.weight`), as read by ``load(directory:for:)``.
    public internal(set) var savedModules: [String: HostTensor] = [:]

    /// Adapters for `model` initialised as PEFT does: A from kaiming_uniform(a = sqrt(5)), i.e.
    /// U(-1/sqrt(in), 1/sqrt(in)), and B = 0, so the adapted model starts equal to the base.
    /// When `model` has a single-label score head and `config.modulesToSave` names `score`
    /// (PEFT's SEQ_CLS), the block also holds a copy of that head, which trains with the
    /// adapters (PEFT's `modules_to_save`) while the model's own head stays frozen.
    /// - Parameters:
    ///   - config: rank, alpha, dropout, targets.
    ///   - model: the base model (its shapes, and its score head's starting value; the adapters
    ///     do not keep it).
    ///   - seed: seed of A's initialisation and of the dropout masks.
    public init(config: LoRAConfig, for model: Llama, seed: UInt64 = 0) {
        precondition((try? config.validate()) != nil, "invalid LoRA configuration: \(config)")
        self.config = config
        modelConfig = model.config
        let carriesScoreHead = config.savesScoreHead && model.layout.head == .score(labels: 1) && model.layout.score != nil
        layout = LoRALayout(model: model.config, base: model.layout, r: config.r, targets: config.targetModules,
                            scoreHead: carriesScoreHead)
        parameters = FloatBuffer(count: layout.count)
        dropoutSeed = seed
        initialize(seed: seed)
        if let s = layout.scoreHead, let source = model.layout.score {
            parameters[s].update(from: model.parameters[source], count: model.config.hiddenSize)
        }
    }

    /// Number of adapter parameters.
    public var parameterCount: Int { layout.count }

    /// Re-draws A (kaiming-uniform, as PEFT) and zeroes B.
    public func initialize(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for ad in layout.adapters {
            let bound = 1 / Float(ad.inFeatures).squareRoot()
            let a = parameters[ad.a]
            for i in 0..<(layout.r * ad.inFeatures) { a[i] = (rng.nextFloat() * 2 - 1) * bound }
            parameters[ad.b].update(repeating: 0, count: ad.outFeatures * layout.r)
        }
    }

    /// Allocates (once) and returns the gradient block.
    @discardableResult
    public func enableGradients() -> FloatBuffer {
        if let g = gradients { return g }
        let g = FloatBuffer(count: layout.count)
        gradients = g
        return g
    }

    /// Whether these adapters fit a model of configuration `c` (same blocks and projection shapes).
    public func fits(_ c: LlamaConfig) -> Bool {
        let m = modelConfig
        return (c.numHiddenLayers, c.hiddenSize, c.intermediateSize, c.numAttentionHeads, c.numKeyValueHeads, c.headDim)
            == (m.numHiddenLayers, m.hiddenSize, m.intermediateSize, m.numAttentionHeads, m.numKeyValueHeads, m.headDim)
    }

    // MARK: - Merging

    /// Folds every adapter into `model`'s weights: W += scaling * B A (PEFT's merge), and copies
    /// a carried score head into `score.weight`. The model then computes what base + adapters
    /// computed, with no adapter attached.
    /// - Parameter model: a model the adapters fit.
    public func merge(into model: Llama) {
        precondition(fits(model.config), "adapters for a different model shape")
        if let s = layout.scoreHead {
            guard let target = model.layout.score else { preconditionFailure("adapters carry a score head; the model has none") }
            model.parameters[target].update(from: parameters[s], count: modelConfig.hiddenSize)
        }
        for ad in layout.adapters {
            LoRA.merge(weight: model.parameters[ad.baseWeight], a: parameters[ad.a], b: parameters[ad.b],
                       C: ad.inFeatures, OC: ad.outFeatures, R: layout.r, scaling: config.scaling)
        }
    }

    // MARK: - Tensors and files

    /// Every adapter tensor under its PEFT name.
    public func namedTensors() -> [String: HostTensor] {
        var out: [String: HostTensor] = [:]
        for e in layout.entries {
            out[e.name] = HostTensor(shape: e.shape, data: Array(UnsafeBufferPointer(start: parameters[e.offset], count: e.count)))
        }
        return out
    }

    /// Copies adapter tensors (by PEFT name) into the block. Every adapter tensor of the layout
    /// must be present with its shape (a carried score head may be absent: the copy taken from
    /// the model stays); tensors of `modules_to_save` go to ``savedModules`` (the score head
    /// too, when the block carries it); anything else is refused, since it would mean the
    /// adapters were made for another model.
    /// - Parameters:
    ///   - tensors: tensors by PEFT name.
    ///   - source: the file, named in errors.
    public func loadParameters(_ tensors: [String: HostTensor], source: String) throws {
        let c = modelConfig
        let shapeText = "\(c.numHiddenLayers) layers, hidden \(c.hiddenSize), intermediate \(c.intermediateSize), \(c.numAttentionHeads) heads, \(c.numKeyValueHeads) KV heads of \(c.headDim)"
        var modules: [String: HostTensor] = [:]
        for e in layout.entries {
            if e.offset == layout.scoreHead {
                guard let t = tensors[e.name] else { continue }
                guard t.shape == e.shape else {
                    throw CheckpointError(.invalidValue, path: source, field: e.name,
                                          "saved score head has shape \(t.shape), but the base model's score.weight is \(e.shape)")
                }
                modules["score.weight"] = t
            }
            guard let t = tensors[e.name] else {
                throw CheckpointError(.missing, path: source, field: e.name,
                                      "adapter tensor missing (adapter_config.json targets \(config.targetModules.map(\.rawValue).joined(separator: ", ")); expected shape \(e.shape))")
            }
            guard t.shape == e.shape else {
                throw CheckpointError(.invalidValue, path: source, field: e.name,
                                      "adapter tensor has shape \(t.shape), but r = \(config.r) on the base model (\(shapeText)) needs \(e.shape)")
            }
            t.data.withUnsafeBufferPointer { parameters[e.offset].update(from: $0.baseAddress!, count: e.count) }
        }
        let known = Set(layout.entries.map(\.name))
        for (name, t) in tensors where !known.contains(name) {
            let hfName = name.hasPrefix("base_model.model.") ? String(name.dropFirst("base_model.model.".count)) : name
            if config.modulesToSave.contains(where: { hfName.hasPrefix($0 + ".") }) {
                modules[hfName] = t
                continue
            }
            let hint = name.contains(".layers.") ? "the base model (\(shapeText)) or the targets in adapter_config.json do not have this layer" : "it is neither an adapter of the configured targets nor in modules_to_save"
            throw CheckpointError(.invalidValue, path: source, field: name, "unexpected tensor: \(hint)")
        }
        savedModules = modules
    }

    /// Writes `adapter_model.safetensors` (F32) and `adapter_config.json` into `directory`, each
    /// atomically, in PEFT's layout.
    /// - Parameters:
    ///   - directory: the adapter directory (created if missing).
    ///   - modules: whole modules to save beside the adapters, by HF name (e.g. `score.weight`);
    ///     saved under PEFT's `base_model.model.` prefix.
    public func save(directory: String, modules: [String: HostTensor] = [:]) throws {
        try config.validate(path: (directory as NSString).appendingPathComponent(LoRAConfig.fileName))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(.ioFailure, path: directory, "cannot create the adapter directory: \(error.localizedDescription)")
        }
        var tensors = namedTensors()
        for (name, t) in modules { tensors["base_model.model." + name] = t }
        try SafeTensors.write(tensors, to: (directory as NSString).appendingPathComponent(LoRAAdapters.weightsFileName))
        try config.write(toDirectory: directory)
    }

    /// Reads adapters in PEFT's layout for `model`.
    /// - Parameters:
    ///   - directory: holds `adapter_config.json` and `adapter_model.safetensors`.
    ///   - model: the base model (only its shapes are used).
    /// - Throws: ``CheckpointError`` naming the file and the field or tensor: a missing file, an
    ///   unsupported option, or tensors that do not fit the base model's shapes.
    public static func load(directory: String, for model: Llama) throws -> LoRAAdapters {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError(.notFound, path: directory, "adapter directory does not exist")
        }
        let configPath = (directory as NSString).appendingPathComponent(LoRAConfig.fileName)
        guard FileManager.default.fileExists(atPath: configPath) else {
            let isModel = FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("config.json"))
            throw CheckpointError(.notFound, path: configPath, "not a PEFT adapter directory: \(LoRAConfig.fileName) does not exist\(isModel ? " (the directory holds config.json: a full model, not an adapter)" : "")")
        }
        let config = try LoRAConfig.load(contentsOf: configPath)
        try config.checkFitsInMemory(for: model.config, path: configPath)
        let weights = (directory as NSString).appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: weights) else {
            let bin = (directory as NSString).appendingPathComponent("adapter_model.bin")
            let hint = FileManager.default.fileExists(atPath: bin) ? "; found adapter_model.bin, but only safetensors is read (save with safe_serialization=True)" : ""
            throw CheckpointError(.notFound, path: weights, "adapter weights do not exist\(hint)")
        }
        let adapters = LoRAAdapters(config: config, for: model)
        try adapters.loadParameters(try SafeTensors.read(contentsOf: weights), source: weights)
        return adapters
    }
}
