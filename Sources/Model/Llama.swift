import Tensor

/// A Llama-architecture decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU) with either a
/// language-model head or a scalar score head, its parameters in one flat block.
///
/// Qwen2 and Mistral checkpoints share the architecture (Qwen2 adds q/k/v bias), so they load too.
public final class Llama {
    public let config: LlamaConfig
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// Gradients in the same layout as `parameters`; allocated by `enableGradients()`.
    public private(set) var gradients: FloatBuffer?
    /// LoRA adapters the passes apply, set by `attach(_:trainBase:)` (Llama+LoRA.swift).
    public internal(set) var adapters: LoRAAdapters?
    /// Whether backward computes gradients of the base parameters. Off while only attached
    /// adapters train: input gradients still flow, but no base weight gradient is computed and
    /// `gradients` is never touched (nor allocated).
    public var trainsBase = true
    let rope: RotaryTable

    // Sizes in kernel notation.
    var C: Int { config.hiddenSize }
    var NH: Int { config.numAttentionHeads }
    var NKV: Int { config.numKeyValueHeads }
    var HS: Int { config.headDim }
    var I: Int { config.intermediateSize }
    var V: Int { config.vocabSize }
    var L: Int { config.numHiddenLayers }
    /// Width of the fused q/k/v projection.
    var QKV: Int { (NH + 2 * NKV) * HS }

    /// A model with all parameters zero; load or initialise them next.
    public init(config: LlamaConfig, head: ParameterLayout.Head? = nil) {
        self.config = config
        layout = ParameterLayout(config: config, head: head ?? config.defaultHead)
        parameters = FloatBuffer(count: layout.count)
        rope = RotaryTable(headDim: config.headDim, maxPositions: config.maxPositionEmbeddings, theta: config.ropeTheta,
                           scaling: config.ropeScaling)
    }

    /// A second model object over `base`'s parameter block (not a copy): see
    /// `sharingBaseWithoutAdapters()` (Llama+Reference.swift).
    init(sharingParametersOf base: Llama) {
        config = base.config
        layout = base.layout
        parameters = base.parameters
        rope = base.rope
        trainsBase = false
    }

    /// Number of parameters.
    public var parameterCount: Int { layout.count }

    /// Initialises as transformers does for Llama: matrices and embeddings from N(0, std),
    /// norms to 1, biases to 0.
    public func initializeRandom(seed: UInt64, std: Float = 0.02) {
        var rng = SplitMix64(seed: seed)
        for e in layout.entries {
            let p = parameters[e.offset]
            if e.name.hasSuffix("norm.weight") {
                p.update(repeating: 1, count: e.count)
            } else if e.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: e.count)
            } else {
                for i in 0..<e.count { p[i] = rng.nextGaussian() * std }
            }
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

    /// The weight the LM head multiplies by: lm_head, or the embedding when tied.
    var lmHeadOffset: Int { layout.lmHead ?? layout.embedding }

    /// FLOPs of one forward pass over `tokens` tokens with `context` average attended keys
    /// (matrix multiplies only), used by benchmarks to report GFLOP/s.
    public func forwardFLOPs(tokens: Int, context: Int, headRows: Int? = nil) -> Double {
        let perTokenMatmul = Double(C * QKV + NH * HS * C + C * 2 * I + I * C) * Double(L)
        let attention = Double(2 * NH * HS * context * L)
        let head = Double(headRows ?? tokens) * Double(V * C)
        return 2 * (Double(tokens) * (perTokenMatmul + attention) + head)
    }
}
