import Foundation
import Tensor

/// The hyperparameters of a Llama-architecture model (Llama, Qwen2, Mistral), read from and
/// written to a Hugging Face `config.json` as transformers 4.x and 5.x write it.
///
/// Reading goes through `JSONSerialization` so each problem names its field; the `Codable`
/// conformance (our own field names) is for the engine's own state files, not for HF files.
public struct LlamaConfig: Codable, Sendable, Equatable {
    /// The first of `architectures`, e.g. `LlamaForCausalLM` or `Qwen2ForSequenceClassification`.
    public var architecture: String
    /// `llama`, `qwen2` or `mistral`.
    public var modelType: String
    /// Rows of the embedding and of the LM head.
    public var vocabSize: Int
    /// Width of the residual stream (C).
    public var hiddenSize: Int
    /// Width of the SwiGLU MLP.
    public var intermediateSize: Int
    /// Number of decoder blocks.
    public var numHiddenLayers: Int
    /// Query heads (NH).
    public var numAttentionHeads: Int
    /// Key/value heads for grouped-query attention; equals `numAttentionHeads` for plain MHA.
    public var numKeyValueHeads: Int
    /// Size of one head (HS); `hiddenSize / numAttentionHeads` unless the file says otherwise.
    public var headDim: Int
    /// Longest sequence the model was trained for.
    public var maxPositionEmbeddings: Int
    /// Epsilon inside RMSNorm's square root.
    public var rmsNormEps: Float
    /// RoPE base frequency.
    public var ropeTheta: Double
    /// How RoPE is stretched beyond the pre-training context (`rope_scaling` / `rope_parameters`);
    /// nil for plain RoPE.
    public var ropeScaling: RopeScaling?
    /// Whether the LM head reuses the embedding matrix (then `lm_head.weight` is absent from files).
    public var tieWordEmbeddings: Bool
    /// Whether q/k/v projections have a bias (Qwen2 always; Llama when `attention_bias` is true).
    public var attentionBias: Bool
    /// Beginning-of-sequence token.
    public var bosTokenID: Int?
    /// The first end-of-sequence token (HF allows a list; see `eosTokenIDs`).
    public var eosTokenID: Int?
    /// Every end-of-sequence token, in file order; empty when there is none.
    public var eosTokenIDs: [Int]
    /// Padding token.
    public var padTokenID: Int?
    /// Outputs of a `*ForSequenceClassification` head (1 for reward and critic models).
    public var numLabels: Int?

    /// Architectures this engine implements.
    public static let supportedArchitectures: Set<String> = [
        "LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM",
        "LlamaForSequenceClassification", "Qwen2ForSequenceClassification",
    ]
    /// Model types this engine implements.
    public static let supportedModelTypes: Set<String> = ["llama", "qwen2", "mistral"]

    /// Creates a configuration; the defaults are transformers' `LlamaConfig` ones where they agree
    /// with small models, and `bos/eos/pad` and `numLabels` start unset.
    ///
    /// Qwen2 always has q/k/v biases, so `attentionBias` is forced on for `modelType == "qwen2"`.
    /// - Parameters:
    ///   - vocabSize: embedding rows.
    ///   - hiddenSize: residual width.
    ///   - intermediateSize: MLP width.
    ///   - numHiddenLayers: decoder blocks.
    ///   - numAttentionHeads: query heads.
    ///   - numKeyValueHeads: key/value heads; nil for `numAttentionHeads`.
    ///   - headDim: head size; nil for `hiddenSize / numAttentionHeads`.
    ///   - maxPositionEmbeddings: longest sequence.
    ///   - rmsNormEps: RMSNorm epsilon.
    ///   - ropeTheta: RoPE base.
    ///   - tieWordEmbeddings: share embedding and LM head.
    ///   - attentionBias: q/k/v biases.
    ///   - architecture: HF architecture name.
    ///   - modelType: HF model type.
    public init(
        vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
        numAttentionHeads: Int, numKeyValueHeads: Int? = nil, headDim: Int? = nil,
        maxPositionEmbeddings: Int = 2048, rmsNormEps: Float = 1e-5, ropeTheta: Double = 10000,
        tieWordEmbeddings: Bool = false, attentionBias: Bool = false,
        architecture: String = "LlamaForCausalLM", modelType: String = "llama"
    ) {
        self.architecture = architecture
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads
        // A zero head count is left for validate() to report rather than trapping on division.
        self.headDim = headDim ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = nil
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias || modelType == "qwen2"
        self.bosTokenID = nil
        self.eosTokenID = nil
        self.eosTokenIDs = []
        self.padTokenID = nil
        self.numLabels = nil
    }

    // MARK: - Validation

    /// Checks that the sizes fit together (positive sizes, `hiddenSize` divisible by the heads,
    /// heads divisible by the key/value heads, an even head size for RoPE, ...), that no size is
    /// beyond any real model (``sizeLimits``, ``maxParameters``: LlamaConfig+Size.swift) and that
    /// the architecture is one this engine implements. Whether the model fits this machine's
    /// memory is ``checkFitsInMemory(_:path:)``, checked where a file is loaded, on the host that
    /// allocates.
    /// - Throws: ``CheckpointError`` naming the HF field at fault.
    public func validate() throws {
        try validate(path: "")
    }

    func validate(path: String) throws {
        func fail(_ field: String, _ message: String, _ code: CheckpointError.Code = .invalidValue) -> CheckpointError {
            CheckpointError(code, path: path, field: field, message)
        }
        try LlamaConfig.checkSupported(modelType: modelType, architecture: architecture, path: path)
        let sizes: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
            ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim),
            ("max_position_embeddings", maxPositionEmbeddings),
        ]
        for (field, value) in sizes where value <= 0 {
            throw fail(field, "must be positive, found \(value)")
        }
        try checkSizes(path: path)
        guard hiddenSize % numAttentionHeads == 0 else {
            throw fail("hidden_size", "\(hiddenSize) is not divisible by num_attention_heads (\(numAttentionHeads))")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw fail("num_key_value_heads", "num_attention_heads (\(numAttentionHeads)) is not a multiple of \(numKeyValueHeads)")
        }
        guard headDim % 2 == 0 else {
            throw fail("head_dim", "RoPE rotates pairs of dimensions, so head_dim must be even, found \(headDim)")
        }
        guard rmsNormEps.isFinite, rmsNormEps > 0 else {
            throw fail("rms_norm_eps", "must be positive and finite, found \(rmsNormEps)")
        }
        guard ropeTheta.isFinite, ropeTheta > 0 else {
            throw fail("rope_theta", "must be positive and finite, found \(ropeTheta)")
        }
        if let numLabels, numLabels < 1 {
            throw fail("num_labels", "must be at least 1, found \(numLabels)")
        }
        for (field, id) in [("bos_token_id", bosTokenID), ("eos_token_id", eosTokenID), ("pad_token_id", padTokenID)] {
            if let id, id < 0 { throw fail(field, "must not be negative, found \(id)") }
        }
        if !eosTokenIDs.isEmpty, eosTokenIDs.first != eosTokenID {
            let first = eosTokenID.map(String.init) ?? "nil"
            throw fail("eos_token_id", "eosTokenID (\(first)) differs from the first of eosTokenIDs \(eosTokenIDs)")
        }
    }

    // MARK: - Writing

    /// The transformers version written into `config.json`; 4.x readers use it only for warnings,
    /// and both `rope_theta` forms are written so 4.x and 5.x read the same RoPE base.
    static let transformersVersion = "4.57.1"

    /// The configuration in HF form, as transformers writes `config.json`.
    public func jsonObject() -> [String: Any] {
        // Float -> Double through the shortest decimal, so 1e-5 is written as 1e-05 and not as
        // the binary expansion 9.99999974737875e-06.
        let epsilon = Double("\(rmsNormEps)") ?? Double(rmsNormEps)
        let rope = ropeJSON
        var object: [String: Any] = [
            "architectures": [architecture],
            "model_type": modelType,
            "vocab_size": vocabSize,
            "hidden_size": hiddenSize,
            "intermediate_size": intermediateSize,
            "num_hidden_layers": numHiddenLayers,
            "num_attention_heads": numAttentionHeads,
            "num_key_value_heads": numKeyValueHeads,
            "head_dim": headDim,
            "max_position_embeddings": maxPositionEmbeddings,
            "rms_norm_eps": epsilon,
            "rope_theta": ropeTheta,
            "rope_parameters": rope.parameters,
            "rope_scaling": rope.scaling,
            "tie_word_embeddings": tieWordEmbeddings,
            "attention_bias": attentionBias,
            "attention_dropout": 0.0,
            "mlp_bias": false,
            "hidden_act": "silu",
            "torch_dtype": "float32",
            "dtype": "float32",
            "initializer_range": 0.02,
            "use_cache": true,
            "transformers_version": LlamaConfig.transformersVersion,
            "bos_token_id": bosTokenID.map { $0 as Any } ?? NSNull(),
            "pad_token_id": padTokenID.map { $0 as Any } ?? NSNull(),
        ]
        if eosTokenIDs.count > 1 {
            object["eos_token_id"] = eosTokenIDs
        } else {
            object["eos_token_id"] = eosTokenID.map { $0 as Any } ?? NSNull()
        }
        if modelType != "llama" {
            // Our attention is always full; say so in the fields Qwen2 and Mistral read.
            object["sliding_window"] = NSNull()
            if modelType == "qwen2" { object["use_sliding_window"] = false }
        }
        if let numLabels {
            // transformers derives num_labels from id2label and does not write it itself.
            var id2label: [String: String] = [:]
            var label2id: [String: Int] = [:]
            for i in 0..<numLabels {
                id2label[String(i)] = "LABEL_\(i)"
                label2id["LABEL_\(i)"] = i
            }
            object["id2label"] = id2label
            object["label2id"] = label2id
        }
        return object
    }

    /// Writes `config.json` into `dir` (created if missing) atomically.
    /// - Parameter dir: the checkpoint directory.
    /// - Throws: ``CheckpointError`` naming the file on failure.
    public func write(toDirectory dir: String) throws {
        let path = (dir as NSString).appendingPathComponent("config.json")
        try validate(path: path)
        try AtomicFile.writeJSON(jsonObject(), named: "config.json", inDirectory: dir, what: "configuration")
    }
}

// MARK: - Reading config.json

extension LlamaConfig {
    /// Reads a Hugging Face `config.json` (transformers 4.x or 5.x) and validates it.
    ///
    /// Fields transformers would default are defaulted the same way (`num_key_value_heads`,
    /// `head_dim`, `rope_theta` 10000, `rms_norm_eps` 1e-6, `max_position_embeddings` per model
    /// type); anything that would change the computation in a way this engine does not implement
    /// (another activation, RoPE scaling other than linear and llama3, MLP bias, sliding-window
    /// layers) is refused.
    /// So is a model larger than any real one or than this machine's memory
    /// (``checkFitsInMemory(_:path:)``), before anything is allocated.
    /// - Parameter path: `config.json`, or the directory that holds it.
    /// - Throws: ``CheckpointError`` naming the file and the field.
    public static func load(contentsOf path: String) throws -> LlamaConfig {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let file = exists && isDirectory.boolValue ? (path as NSString).appendingPathComponent("config.json") : path
        let json = try JSONObject.parse(try readFile(file), path: file, what: "config")
        let config = try parse(json)
        try config.validate(path: file)
        try config.checkFitsInMemory(path: file)
        return config
    }

    /// The model type first: an unknown type makes every architecture name moot.
    static func checkSupported(modelType: String, architecture: String, path: String) throws {
        guard supportedModelTypes.contains(modelType) else {
            throw CheckpointError(
                .unsupported, path: path, field: "model_type",
                "model type \(modelType) is not supported (supported: \(supportedModelTypes.sorted().joined(separator: ", ")))")
        }
        guard supportedArchitectures.contains(architecture) else {
            throw CheckpointError(
                .unsupported, path: path, field: "architectures",
                "architecture \(architecture) is not supported (supported: \(supportedArchitectures.sorted().joined(separator: ", ")))")
        }
    }

    static func parse(_ json: JSONObject) throws -> LlamaConfig {
        func unsupported(_ field: String, _ message: String) -> CheckpointError {
            CheckpointError(.unsupported, path: json.path, field: field, message)
        }

        // Architecture and model type, each defaulted from the other.
        var architecture: String?
        if let architectures = try json.array("architectures") {
            guard let first = architectures.first else {
                throw CheckpointError(.invalidValue, path: json.path, field: "architectures", "is empty")
            }
            guard let name = first as? String else { throw json.wrongType("architectures", "an array of strings", architectures) }
            architecture = name
        }
        let defaultArchitectures = ["llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"]
        let typeByPrefix = [("Llama", "llama"), ("Qwen2", "qwen2"), ("Mistral", "mistral")]
        let inferredType = architecture.flatMap { name in typeByPrefix.first { name.hasPrefix($0.0) }?.1 }
        guard let modelType = try json.string("model_type") ?? inferredType else { throw json.missing("model_type") }
        let resolvedArchitecture = architecture ?? defaultArchitectures[modelType] ?? "LlamaForCausalLM"
        try checkSupported(modelType: modelType, architecture: resolvedArchitecture, path: json.path)

        // Computation we do not implement.
        if let activation = try json.string("hidden_act"), activation != "silu", activation != "swish" {
            throw unsupported("hidden_act", "activation \(activation) is not supported (only silu)")
        }
        if try json.bool("mlp_bias") == true {
            throw unsupported("mlp_bias", "MLP biases are not supported")
        }
        let rope = try parseRope(json)
        if try json.bool("use_sliding_window") == true {
            throw unsupported("use_sliding_window", "sliding-window attention is not supported")
        }
        if let layerTypes = try json.array("layer_types") {
            for (i, type) in layerTypes.enumerated() where (type as? String) != "full_attention" {
                throw unsupported("layer_types", "layer \(i) is \(describe(type)); only full_attention is supported")
            }
        }

        let defaultMaxPositions = ["llama": 2048, "qwen2": 32768, "mistral": 131072]
        var config = LlamaConfig(
            vocabSize: try json.requiredInt("vocab_size"),
            hiddenSize: try json.requiredInt("hidden_size"),
            intermediateSize: try json.requiredInt("intermediate_size"),
            numHiddenLayers: try json.requiredInt("num_hidden_layers"),
            numAttentionHeads: try json.requiredInt("num_attention_heads"),
            numKeyValueHeads: try json.int("num_key_value_heads"),
            headDim: try json.int("head_dim"),
            maxPositionEmbeddings: try json.int("max_position_embeddings") ?? defaultMaxPositions[modelType] ?? 2048,
            rmsNormEps: Float(try json.double("rms_norm_eps") ?? 1e-6),
            ropeTheta: rope.theta ?? 10000,
            tieWordEmbeddings: try json.bool("tie_word_embeddings") ?? false,
            attentionBias: try json.bool("attention_bias") ?? false,
            architecture: resolvedArchitecture,
            modelType: modelType)

        config.ropeScaling = rope.scaling
        config.bosTokenID = try json.int("bos_token_id")
        config.padTokenID = try json.int("pad_token_id")
        if let raw = json.value("eos_token_id") {
            if let id = jsonInt(raw) {
                config.eosTokenIDs = [id]
            } else if let list = raw as? [Any], let ids = Optional(list.compactMap(jsonInt)), ids.count == list.count {
                config.eosTokenIDs = ids
            } else {
                throw json.wrongType("eos_token_id", "an integer or an array of integers", raw)
            }
            config.eosTokenID = config.eosTokenIDs.first
        }

        if let count = try json.int("num_labels") {
            config.numLabels = count
        } else if let labels = try json.object("id2label") {
            config.numLabels = labels.values.count
        } else if resolvedArchitecture.hasSuffix("ForSequenceClassification") {
            config.numLabels = 2  // transformers' default when a file names neither
        }
        return config
    }
}
