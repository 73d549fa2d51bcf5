/// Where each weight of a Llama model sits in the one flat parameter block, under its HF name.
///
/// q, k and v projections are stored next to each other, as are gate and up, so each pair is
/// one matrix multiply: rows of [Wq; Wk; Wv] form a ((NH + 2 NKV) HS, C) matrix, rows of
/// [Wgate; Wup] a (2 I, C) matrix.
public struct ParameterLayout: Sendable {
    /// One tensor of the block.
    public struct Entry: Sendable {
        public let name: String
        public let offset: Int
        public let shape: [Int]
        /// AdamW's weight decay applies to matrices only, never to norms or biases.
        public let decays: Bool
        public var count: Int { shape.reduce(1, *) }
    }

    /// Offsets of one decoder layer's tensors.
    public struct Layer: Sendable {
        public let inputNorm: Int      // (C)
        public let qkvWeight: Int      // (QKV, C): q_proj, k_proj, v_proj rows
        public let qkvBias: Int?       // (QKV) when the model has q/k/v bias
        public let oWeight: Int        // (C, NH*HS)
        public let postNorm: Int       // (C)
        public let gateUpWeight: Int   // (2I, C): gate_proj, up_proj rows
        public let downWeight: Int     // (C, I)
    }

    /// What sits on top of the final norm.
    public enum Head: Sendable, Equatable {
        /// lm_head (V, C), or the embedding when tied.
        case languageModel(tied: Bool)
        /// score (labels, C), as in LlamaForSequenceClassification: reward and critic models.
        case score(labels: Int)
    }

    public let entries: [Entry]
    public let layers: [Layer]
    public let embedding: Int      // (V, C)
    public let finalNorm: Int      // (C)
    public let lmHead: Int?        // (V, C), nil when tied or for a score head
    public let score: Int?         // (labels, C)
    public let head: Head
    public let count: Int

    public init(config c: LlamaConfig, head: Head) {
        var entries: [Entry] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int], decays: Bool) -> Int {
            let e = Entry(name: name, offset: offset, shape: shape, decays: decays)
            entries.append(e)
            offset += e.count
            return e.offset
        }
        let C = c.hiddenSize, HS = c.headDim, NH = c.numAttentionHeads, NKV = c.numKeyValueHeads
        let I = c.intermediateSize, V = c.vocabSize
        embedding = add("model.embed_tokens.weight", [V, C], decays: true)
        var layers: [Layer] = []
        for l in 0..<c.numHiddenLayers {
            let p = "model.layers.\(l)."
            let inNorm = add(p + "input_layernorm.weight", [C], decays: false)
            let q = add(p + "self_attn.q_proj.weight", [NH * HS, C], decays: true)
            _ = add(p + "self_attn.k_proj.weight", [NKV * HS, C], decays: true)
            _ = add(p + "self_attn.v_proj.weight", [NKV * HS, C], decays: true)
            var qb: Int?
            if c.attentionBias {
                qb = add(p + "self_attn.q_proj.bias", [NH * HS], decays: false)
                _ = add(p + "self_attn.k_proj.bias", [NKV * HS], decays: false)
                _ = add(p + "self_attn.v_proj.bias", [NKV * HS], decays: false)
            }
            let o = add(p + "self_attn.o_proj.weight", [C, NH * HS], decays: true)
            let post = add(p + "post_attention_layernorm.weight", [C], decays: false)
            let gate = add(p + "mlp.gate_proj.weight", [I, C], decays: true)
            _ = add(p + "mlp.up_proj.weight", [I, C], decays: true)
            let down = add(p + "mlp.down_proj.weight", [C, I], decays: true)
            layers.append(Layer(inputNorm: inNorm, qkvWeight: q, qkvBias: qb, oWeight: o, postNorm: post,
                                gateUpWeight: gate, downWeight: down))
        }
        finalNorm = add("model.norm.weight", [C], decays: false)
        switch head {
        case .languageModel(let tied):
            lmHead = tied ? nil : add("lm_head.weight", [V, C], decays: true)
            score = nil
        case .score(let labels):
            lmHead = nil
            score = add("score.weight", [labels, C], decays: true)
        }
        self.head = head
        self.layers = layers
        self.entries = entries
        self.count = offset
    }

    /// The entry named `name`, if the layout has one.
    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
