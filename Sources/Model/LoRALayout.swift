/// Where each adapter of a LoRA set sits in its own flat parameter block, under PEFT's tensor
/// names, and where its output goes in the model's fused projections.
///
/// Per layer, per target in canonical order: A (r, in) then B (out, r). PEFT saves them as
/// `base_model.model.model.layers.{i}.{self_attn|mlp}.{target}.lora_{A|B}.weight` (the adapter
/// name "default" is dropped from saved files).
public struct LoRALayout: Sendable {
    /// The four places in a block where adapted layers write: each is one fused matrix multiply
    /// of the base model, so its adapters share its input and add into column slices of its output.
    enum Site: Int, CaseIterable, Sendable {
        case attentionInput   // q, k, v: (N, QKV) from ln1
        case attentionOutput  // o: (N, C) from the attention output
        case mlpInput         // gate, up: (N, 2I) from ln2
        case mlpOutput        // down: (N, C) from the SwiGLU output
    }

    /// One adapter: a (A, B) pair on one linear layer of one block.
    public struct Adapter: Sendable {
        /// The block (0-based).
        public let layer: Int
        /// The adapted linear layer.
        public let target: LoRATarget
        /// in_features and out_features of the adapted linear layer.
        public let inFeatures: Int, outFeatures: Int
        /// Offsets of A (r, in) and B (out, r) in the adapter block.
        public let a: Int, b: Int
        /// First column of this layer's output within its site's fused output, and that output's width.
        let column: Int, siteWidth: Int
        let site: Site
        /// Offset of the adapted weight (out, in) in the base model's parameter block.
        public let baseWeight: Int
    }

    /// Every A and B tensor, under PEFT's names, in block order. All decay under AdamW, as in
    /// transformers' Trainer, which exempts only biases and norms.
    public let entries: [ParameterLayout.Entry]
    /// Adapters in block order (layer-major, targets in canonical order).
    public let adapters: [Adapter]
    /// Indices into `adapters` by [layer][site].
    let bySite: [[[Int]]]
    /// Rank of every adapter.
    public let r: Int
    /// Floats in the block.
    public let count: Int
    /// Widest adapter input, for dropout scratch.
    let maxInFeatures: Int
    /// Offset of the trainable copy of the score head (1, hidden), when the block carries one
    /// (SEQ_CLS adapters with `modules_to_save` naming `score`): the last entry, under PEFT's
    /// saved name ``scoreHeadName``.
    public let scoreHead: Int?

    /// PEFT's name for the score head saved beside SEQ_CLS adapters (`modules_to_save`).
    public static let scoreHeadName = "base_model.model.score.weight"

    /// The PEFT name of a tensor: `base_model.model.` + the HF module path + `.lora_A.weight`.
    /// - Parameters:
    ///   - layer: the block.
    ///   - target: the adapted layer.
    ///   - matrix: "A" or "B".
    public static func tensorName(layer: Int, target: LoRATarget, matrix: String) -> String {
        "base_model.model.model.layers.\(layer).\(target.parent).\(target.rawValue).lora_\(matrix).weight"
    }

    /// Lays out adapters of rank `r` on `targets` of every layer of a model.
    /// - Parameters:
    ///   - model: the base model's configuration.
    ///   - base: the base model's parameter layout (for the adapted weights' offsets, to merge).
    ///   - r: adapter rank.
    ///   - targets: adapted layers (any order).
    ///   - scoreHead: whether the block also holds a trainable copy of the score head (1, hidden),
    ///     after every adapter; it decays under AdamW like any linear weight.
    public init(model c: LlamaConfig, base: ParameterLayout, r: Int, targets: [LoRATarget], scoreHead: Bool = false) {
        let C = c.hiddenSize, NH = c.numAttentionHeads, NKV = c.numKeyValueHeads, HS = c.headDim, I = c.intermediateSize
        let QKV = (NH + 2 * NKV) * HS
        var entries: [ParameterLayout.Entry] = []
        var adapters: [Adapter] = []
        var bySite = [[[Int]]](repeating: [[Int]](repeating: [], count: Site.allCases.count), count: c.numHiddenLayers)
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let e = ParameterLayout.Entry(name: name, offset: offset, shape: shape, decays: true)
            entries.append(e)
            offset += e.count
            return e.offset
        }
        for l in 0..<c.numHiddenLayers {
            let p = base.layers[l]
            for t in Set(targets).sorted() {
                // (in, out, site, first column in the site's output, site width, weight offset of the site)
                let (inF, outF, site, column, width, siteWeight): (Int, Int, Site, Int, Int, Int) = switch t {
                case .q: (C, NH * HS, .attentionInput, 0, QKV, p.qkvWeight)
                case .k: (C, NKV * HS, .attentionInput, NH * HS, QKV, p.qkvWeight)
                case .v: (C, NKV * HS, .attentionInput, (NH + NKV) * HS, QKV, p.qkvWeight)
                case .o: (NH * HS, C, .attentionOutput, 0, C, p.oWeight)
                case .gate: (C, I, .mlpInput, 0, 2 * I, p.gateUpWeight)
                case .up: (C, I, .mlpInput, I, 2 * I, p.gateUpWeight)
                case .down: (I, C, .mlpOutput, 0, C, p.downWeight)
                }
                let a = add(LoRALayout.tensorName(layer: l, target: t, matrix: "A"), [r, inF])
                let b = add(LoRALayout.tensorName(layer: l, target: t, matrix: "B"), [outF, r])
                bySite[l][site.rawValue].append(adapters.count)
                // Rows [column, column + out) of the fused (width, in) weight are this layer's.
                adapters.append(Adapter(layer: l, target: t, inFeatures: inF, outFeatures: outF, a: a, b: b,
                                        column: column, siteWidth: width, site: site, baseWeight: siteWeight + column * inF))
            }
        }
        self.scoreHead = scoreHead ? add(LoRALayout.scoreHeadName, [1, C]) : nil
        self.entries = entries
        self.adapters = adapters
        self.bySite = bySite
        self.r = r
        self.count = offset
        maxInFeatures = adapters.map(\.inFeatures).max() ?? 0
    }

    /// The entry named `name`, if the layout has one.
    public func entry(named name: String) -> ParameterLayout.Entry? { entries.first { $0.name == name } }
}
