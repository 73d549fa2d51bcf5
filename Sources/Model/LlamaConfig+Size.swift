import Foundation

/// The size checks of a configuration: each field and the total against what real models have,
/// and the total against this machine's memory, before anything is allocated.
extension LlamaConfig {
    /// Most parameters a config may describe: more than any released model (Llama 3.1 405B has
    /// 4.05e11), so a larger count is a typo or a hostile file, never a model to load.
    public static let maxParameters = 1_000_000_000_000

    /// The largest value each size field may take, with the largest released models' values for
    /// scale: far beyond them, so that only a typo or a hostile file is refused.
    public static let sizeLimits: [(field: String, limit: Int)] = [
        ("vocab_size", 1 << 22),                // Gemma 3: 262,144
        ("hidden_size", 1 << 17),               // Llama 3.1 405B: 16,384
        ("intermediate_size", 1 << 20),         // Llama 3.1 405B: 53,248
        ("num_hidden_layers", 1 << 14),         // Llama 3.1 405B: 126
        ("num_attention_heads", 1 << 14),       // Llama 3.1 405B: 128
        ("num_key_value_heads", 1 << 14),
        ("head_dim", 1 << 14),                  // 64 to 256
        ("max_position_embeddings", 1 << 24),   // Llama 4 Scout: 10,485,760
        ("num_labels", 1 << 22),
    ]

    /// The head `Llama(config:)` gives a model of this configuration: a score head for a
    /// `*ForSequenceClassification`, otherwise the LM head (tied or not).
    public var defaultHead: ParameterLayout.Head {
        architecture.hasSuffix("ForSequenceClassification")
            ? .score(labels: numLabels ?? 1) : .languageModel(tied: tieWordEmbeddings)
    }

    /// The parameter count and bytes of a model of this configuration with its default head,
    /// without building its layout.
    public var footprint: ModelFootprint {
        let C = hiddenSize, HS = headDim, NH = numAttentionHeads, NKV = numKeyValueHeads
        let I = intermediateSize, V = vocabSize, L = numHiddenLayers
        let qkvRows = checkedProduct(checkedSum(NH, checkedProduct(2, NKV)), HS)
        let perLayer = checkedSum(
            checkedProduct(2, C),           // input and post-attention norms
            checkedProduct(qkvRows, C),     // q, k, v
            attentionBias ? qkvRows : 0,    // their biases
            checkedProduct(C, NH, HS),      // o
            checkedProduct(3, I, C))        // gate, up, down
        let layers = checkedProduct(L, perLayer)
        var vocabulary = checkedProduct(V, C)  // embedding
        var labels: Int? = 0
        switch defaultHead {
        case .languageModel(let tied): if !tied { vocabulary = checkedProduct(2, vocabulary) }
        case .score(let count): labels = checkedProduct(count, C)
        }
        let parameters = checkedSum(vocabulary, layers, C, labels)  // C: the final norm
        let rope = checkedProduct(maxPositionEmbeddings, HS)  // cos and sin, (positions, HS/2) each
        let shares = [("vocab_size", vocabulary), ("num_hidden_layers", layers), ("max_position_embeddings", rope),
                      ("num_labels", labels)]
        // An overflowed share (nil) is the largest.
        let largest = shares.max { ($0.1 ?? .max) < ($1.1 ?? .max) }!.0
        return ModelFootprint(parameters: parameters, bytes: checkedProduct(4, checkedSum(parameters, rope)), largestField: largest)
    }

    /// Refuses a size field beyond ``sizeLimits`` or a total beyond ``maxParameters``: what no
    /// machine loads, whatever its memory (``validate()`` calls this).
    func checkSizes(path: String) throws {
        let values: [String: Int] = [
            "vocab_size": vocabSize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
            "num_hidden_layers": numHiddenLayers, "num_attention_heads": numAttentionHeads,
            "num_key_value_heads": numKeyValueHeads, "head_dim": headDim,
            "max_position_embeddings": maxPositionEmbeddings, "num_labels": numLabels ?? 1,
        ]
        let footprint = self.footprint
        for (field, limit) in LlamaConfig.sizeLimits {
            guard let value = values[field], value > limit else { continue }
            throw CheckpointError(.tooLarge, path: path, field: field,
                                  "\(value) is beyond any real model (at most \(limit) here): \(footprint.summary(availableBytes: SystemMemory.bytes))")
        }
        guard let parameters = footprint.parameters, parameters <= LlamaConfig.maxParameters else {
            throw CheckpointError(.tooLarge, path: path, field: footprint.largestField,
                                  "the model is larger than any real one (at most \(LlamaConfig.maxParameters) parameters here): \(footprint.summary(availableBytes: SystemMemory.bytes))")
        }
    }

    /// Refuses a model whose weights and RoPE table alone need more than `availableBytes`, before
    /// anything is allocated. ``load(contentsOf:)`` calls it, so every command that reads a
    /// `config.json` (init, train, serve, generate, eval, lora merge) refuses such a file.
    /// - Parameters:
    ///   - availableBytes: the memory to fit in; this machine's (``SystemMemory/bytes``) by default.
    ///   - path: the file, for the error.
    /// - Throws: ``CheckpointError`` `.tooLarge` naming the field behind the largest share and the figures.
    public func checkFitsInMemory(_ availableBytes: Int = SystemMemory.bytes, path: String = "") throws {
        let footprint = self.footprint
        guard let bytes = footprint.bytes, bytes <= availableBytes else {
            throw CheckpointError(.tooLarge, path: path, field: footprint.largestField,
                                  "the model does not fit in memory: \(footprint.summary(availableBytes: availableBytes))")
        }
    }
}

/// The product, or nil once any factor is nil or a step overflows `Int`.
func checkedProduct(_ factors: Int?...) -> Int? {
    factors.reduce(Optional(1)) { result, factor in
        guard let result, let factor else { return nil }
        let (value, overflow) = result.multipliedReportingOverflow(by: factor)
        return overflow ? nil : value
    }
}

/// The sum, or nil once any term is nil or a step overflows `Int`.
func checkedSum(_ terms: Int?...) -> Int? {
    terms.reduce(Optional(0)) { result, term in
        guard let result, let term else { return nil }
        let (value, overflow) = result.addingReportingOverflow(term)
        return overflow ? nil : value
    }
}
