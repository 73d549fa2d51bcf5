import Foundation

/// A linear layer of a Llama block that can carry a LoRA adapter, under PEFT's module name.
public enum LoRATarget: String, CaseIterable, Sendable, Codable, Comparable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// The parent module in HF names: `self_attn` or `mlp`.
    public var parent: String {
        switch self {
        case .q, .k, .v, .o: return "self_attn"
        case .gate, .up, .down: return "mlp"
        }
    }

    /// Canonical order (the order of the layers in a block), used in files and layouts.
    public static func < (lhs: LoRATarget, rhs: LoRATarget) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The hyperparameters of a set of LoRA adapters (Hu et al., arXiv 2106.09685), read from and
/// written to PEFT's `adapter_config.json`.
///
/// Only what changes the computation is kept; PEFT options this engine does not implement
/// (rsLoRA, DoRA, adapter biases, per-layer ranks, layer subsets, PiSSA-style inits that rewrite
/// the base weights, ...) are refused when reading, naming the file and field.
public struct LoRAConfig: Sendable, Equatable {
    /// What the adapted model is for; PEFT names the saved tensors the same way for both.
    public enum TaskType: String, Sendable {
        /// A language model (`*ForCausalLM`).
        case causalLM = "CAUSAL_LM"
        /// A scalar head (`*ForSequenceClassification`): reward and critic models. PEFT then also
        /// saves the head itself (`modules_to_save`).
        case sequenceClassification = "SEQ_CLS"
    }

    /// The file PEFT reads the configuration from.
    public static let fileName = "adapter_config.json"
    /// Modules PEFT may list in `modules_to_save` that this engine can save beside the adapters:
    /// the score head (PEFT lists "classifier" too for SEQ_CLS; Llama has none, so it is a no-op).
    public static let supportedModulesToSave: Set<String> = ["classifier", "score"]

    /// Rank of each adapter (rows of A, columns of B). PEFT's default is 8.
    public var r: Int
    /// `lora_alpha`; the update is scaled by alpha / r so that changing r keeps its size.
    public var alpha: Double
    /// Dropout on each adapter's input during training (never at inference). PEFT's default 0.
    public var dropout: Double
    /// Adapted layers, in canonical order. PEFT's default for Llama is q_proj and v_proj.
    public var targetModules: [LoRATarget]
    /// `task_type`; nil when the file has none (treated as a causal LM).
    public var taskType: TaskType?
    /// `base_model_name_or_path`: where the base model came from, for the user's information.
    public var baseModelNameOrPath: String?
    /// `modules_to_save`: whole modules saved beside the adapters (only the score head here).
    public var modulesToSave: [String]

    /// The factor on B A: alpha / r.
    public var scaling: Float { Float(alpha / Double(r)) }

    /// Whether the score head travels with the adapters (`modules_to_save` names it).
    public var savesScoreHead: Bool { modulesToSave.contains("score") }

    /// Creates a configuration with PEFT's defaults.
    /// - Parameters:
    ///   - r: adapter rank.
    ///   - alpha: `lora_alpha`.
    ///   - dropout: adapter input dropout during training.
    ///   - targetModules: adapted layers (any order; duplicates are dropped).
    ///   - taskType: causal LM or sequence classification.
    ///   - baseModelNameOrPath: the base model's name or directory.
    ///   - modulesToSave: nil for PEFT's default: ["classifier", "score"] for SEQ_CLS, else none.
    public init(
        r: Int = 8, alpha: Double = 8, dropout: Double = 0, targetModules: [LoRATarget] = [.q, .v],
        taskType: TaskType? = .causalLM, baseModelNameOrPath: String? = nil, modulesToSave: [String]? = nil
    ) {
        self.r = r
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = Array(Set(targetModules)).sorted()
        self.taskType = taskType
        self.baseModelNameOrPath = baseModelNameOrPath
        self.modulesToSave = modulesToSave ?? (taskType == .sequenceClassification ? ["classifier", "score"] : [])
    }

    // MARK: - Validation

    /// Checks the values are usable: a positive rank no higher than ``maxRank``, finite alpha,
    /// dropout in [0, 1), at least one target, and only supported modules to save.
    /// - Throws: ``CheckpointError`` naming the PEFT field at fault.
    public func validate() throws { try validate(path: "") }

    func validate(path: String) throws {
        func fail(_ field: String, _ message: String) -> CheckpointError {
            CheckpointError(.invalidValue, path: path, field: field, message)
        }
        guard r > 0 else { throw fail("r", "must be positive, found \(r)") }
        guard r <= LoRAConfig.maxRank else {
            throw CheckpointError(.tooLarge, path: path, field: "r", "\(r) is beyond any real adapter (at most \(LoRAConfig.maxRank) here)")
        }
        guard alpha.isFinite, alpha != 0 else { throw fail("lora_alpha", "must be finite and non-zero, found \(alpha)") }
        guard dropout >= 0, dropout < 1 else { throw fail("lora_dropout", "must be in [0, 1), found \(dropout)") }
        guard !targetModules.isEmpty else { throw fail("target_modules", "names no layer to adapt") }
        for m in modulesToSave where !LoRAConfig.supportedModulesToSave.contains(m) {
            throw CheckpointError(.unsupported, path: path, field: "modules_to_save",
                                  "module '\(m)' is not supported (only the score head: score, classifier)")
        }
    }

    // MARK: - Writing

    /// The configuration as PEFT writes `adapter_config.json` (the fields PEFT's LoraConfig
    /// reads; the others take PEFT's defaults, which are what this engine computes).
    public func jsonObject() -> [String: Any] {
        let alphaValue: Any = alpha == alpha.rounded() && abs(alpha) < 1e15 ? Int(alpha) as Any : alpha as Any
        return [
            "peft_type": "LORA",
            "task_type": taskType.map { $0.rawValue as Any } ?? NSNull(),
            "r": r,
            "lora_alpha": alphaValue,
            "lora_dropout": dropout,
            "target_modules": targetModules.map(\.rawValue),
            "bias": "none",
            "fan_in_fan_out": false,
            "use_rslora": false,
            "use_dora": false,
            "lora_bias": false,
            "init_lora_weights": true,
            "inference_mode": true,
            "modules_to_save": modulesToSave.isEmpty ? NSNull() as Any : modulesToSave as Any,
            "base_model_name_or_path": baseModelNameOrPath.map { $0 as Any } ?? NSNull(),
            "revision": NSNull(),
            "layers_to_transform": NSNull(),
            "layers_pattern": NSNull(),
            "rank_pattern": [String: Any](),
            "alpha_pattern": [String: Any](),
        ]
    }

    /// Writes `adapter_config.json` into `dir` (created if missing) atomically.
    /// - Parameter dir: the adapter directory.
    /// - Throws: ``CheckpointError`` naming the file on failure.
    public func write(toDirectory dir: String) throws {
        let path = (dir as NSString).appendingPathComponent(LoRAConfig.fileName)
        try validate(path: path)
        try AtomicFile.writeJSON(jsonObject(), named: LoRAConfig.fileName, inDirectory: dir, what: "adapter configuration")
    }
}
