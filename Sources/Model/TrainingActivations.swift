import Tensor

/// Everything a training forward pass keeps for its backward, for one batch shape (B, T).
///
/// Allocated once and reused every step, so a step allocates nothing: the buffers are sized for
/// the largest shape asked of them (`capacityB` x `capacityT`), and `reshape` lays a smaller
/// batch over them, so a run whose padded lengths vary holds one set, not one per length.
///
/// Scoring activations (`forScoring`) hold no backward buffers, and their layers share one set
/// of buffers (the residual stream alternates between two): a forward pass reads layer l's
/// buffers only while computing layer l, and only the backward pass needs each layer's kept.
/// They are what the reference, the reward model, the critic's values and the old
/// log-probabilities need: a chunk of rows costs one layer's activations instead of L layers'
/// plus their gradients.
public final class TrainingActivations {
    public private(set) var B: Int, T: Int
    /// The largest batch (rows, padded length) the buffers hold.
    public let capacityB: Int, capacityT: Int
    /// False for scoring activations: no backward pass may run on them.
    public let keepsBackward: Bool
    var N: Int { B * T }
    // Saved by forward, per layer l:
    let resid: [FloatBuffer]     // L+1 of (N, C): input of layer l; resid[L] feeds the final norm
    let ln1: [FloatBuffer]       // (N, C)
    let rstd1: [FloatBuffer]     // (N)
    let qkv: [FloatBuffer]       // (N, QKV), q and k after rotation
    let probs: [FloatBuffer]     // (B, NH, T, T)
    let attOut: [FloatBuffer]    // (N, NH*HS)
    let residMid: [FloatBuffer]  // (N, C): resid + attention
    let ln2: [FloatBuffer]       // (N, C)
    let rstd2: [FloatBuffer]     // (N)
    let gateUp: [FloatBuffer]    // (N, 2I)
    let mlpHidden: [FloatBuffer] // (N, I)
    /// (N, C) output of the final norm: what the heads read.
    public let hidden: FloatBuffer
    let rstdFinal: FloatBuffer   // (N)
    /// (N, V) logits when the LM head keeps them (`withLogits`); backward overwrites them with their gradient.
    public let logits: FloatBuffer
    let lse: FloatBuffer         // (N)
    /// Whether the last LM-head forward kept all logits (else the backward recomputes them).
    var logitsKept = true
    /// Rows of logits made at a time when they are not kept: 256 x V floats stay in cache.
    let lmHeadChunkRows: Int
    let logitsChunk: FloatBuffer  // (lmHeadChunkRows, V)
    /// (N) log p(target) at each position.
    public let logprobs: FloatBuffer
    private(set) var positions: [Int32]  // (N): t for each row, or a packed layout's positions
    /// (N, 2) the packed layout's hidden keys per token, nil for plain causal rows.
    private(set) var gaps: [Int32]?
    // Backward workspaces:
    /// (N, C) gradient of the loss with respect to `hidden`, filled by a head's backward.
    public let dHidden: FloatBuffer
    let dResid: FloatBuffer      // (N, C)
    let dLn: FloatBuffer         // (N, C)
    let dQKV: FloatBuffer        // (N, QKV)
    let dAttOut: FloatBuffer     // (N, NH*HS)
    let dGateUp: FloatBuffer     // (N, 2I)
    let dMLPHidden: FloatBuffer  // (N, I)
    let attScratch: FloatBuffer  // (scratchParts, T, T): one per thread
    /// Threads the attention backward can use: the context's at creation (scratch is per thread).
    let scratchParts: Int
    public let ids: UnsafeMutablePointer<Int32>  // (N), copied in by forward
    /// What attached LoRA adapters keep for backward; allocated by their first forward.
    var lora: LoRAActivations?

    /// - Parameter context: the compute context the passes will run under; its thread count
    ///   sizes per-thread scratch (a pass under a context with more threads uses only these).
    ///   - forScoring: scoring activations (see above): no backward buffers, layers sharing theirs.
    public init(model m: Llama, B: Int, T: Int, withLogits: Bool = true, forScoring: Bool = false,
                context: ComputeContext = .current) {
        self.B = B
        self.T = T
        capacityB = B
        capacityT = T
        keepsBackward = !forScoring
        let N = B * T, L = m.L
        func bufs(_ n: Int) -> [FloatBuffer] {
            if forScoring {
                let shared = FloatBuffer(count: n)
                return Array(repeating: shared, count: L)
            }
            return (0..<L).map { _ in FloatBuffer(count: n) }
        }
        if forScoring {
            let even = FloatBuffer(count: N * m.C), odd = FloatBuffer(count: N * m.C)
            resid = (0...L).map { $0 % 2 == 0 ? even : odd }
        } else {
            resid = (0...L).map { _ in FloatBuffer(count: N * m.C) }
        }
        ln1 = bufs(N * m.C); rstd1 = bufs(N); qkv = bufs(N * m.QKV); probs = bufs(B * m.NH * T * T)
        attOut = bufs(N * m.NH * m.HS); residMid = bufs(N * m.C); ln2 = bufs(N * m.C); rstd2 = bufs(N)
        gateUp = bufs(N * 2 * m.I); mlpHidden = bufs(N * m.I)
        hidden = FloatBuffer(count: N * m.C); rstdFinal = FloatBuffer(count: N)
        logits = FloatBuffer(count: withLogits ? N * m.V : 0)
        lmHeadChunkRows = min(N, 256)
        logitsChunk = FloatBuffer(count: lmHeadChunkRows * m.V)
        lse = FloatBuffer(count: N); logprobs = FloatBuffer(count: N)
        positions = (0..<N).map { Int32($0 % T) }
        let G = forScoring ? 0 : N
        dHidden = FloatBuffer(count: G * m.C); dResid = FloatBuffer(count: G * m.C); dLn = FloatBuffer(count: G * m.C)
        dQKV = FloatBuffer(count: G * m.QKV); dAttOut = FloatBuffer(count: G * m.NH * m.HS)
        dGateUp = FloatBuffer(count: G * 2 * m.I); dMLPHidden = FloatBuffer(count: G * m.I)
        scratchParts = context.threads
        attScratch = FloatBuffer(count: forScoring ? 0 : scratchParts * T * T)
        ids = .allocate(capacity: N)
        ids.initialize(repeating: 0, count: N)
    }

    /// Lays a (B, T) batch over these buffers; false (and nothing changed) when it does not fit
    /// within `capacityB` x `capacityT`. Every buffer is used by (B, T) strides computed from
    /// `B` and `T`, so a smaller batch fits in the same memory.
    public func reshape(B newB: Int, T newT: Int) -> Bool {
        guard newB >= 1, newT >= 1, newB <= capacityB, newT <= capacityT else { return false }
        guard newB != B || newT != T else { return true }
        B = newB
        T = newT
        positions = (0..<(newB * newT)).map { Int32($0 % newT) }
        gaps = nil
        return true
    }

    /// Sets where the tokens of the next forward pass sit: a packed layout's positions and
    /// hidden keys, or (nil) plain causal rows at positions 0..<T. The backward pass reads the
    /// positions the forward ran with.
    func place(_ packing: PackedLayout?) {
        if let packing {
            positions = packing.positions
            gaps = packing.gaps
        } else if gaps != nil {
            positions = (0..<N).map { Int32($0 % T) }
            gaps = nil
        }
    }

    /// Bytes these activations hold for a (B, T) batch of a model of configuration `c`, as
    /// `init` allocates them: what the memory plan counts for one mini-batch or scoring chunk.
    public static func bytes(config c: LlamaConfig, B: Int, T: Int, withLogits: Bool, forScoring: Bool, threads: Int) -> Int {
        let N = B * T, C = c.hiddenSize, I = c.intermediateSize, V = c.vocabSize, L = c.numHiddenLayers
        let attention = c.numAttentionHeads * c.headDim, QKV = (c.numAttentionHeads + 2 * c.numKeyValueHeads) * c.headDim
        let perLayer = N * (3 * C + 2 + QKV + attention + 3 * I) + B * c.numAttentionHeads * T * T
        let resid = (forScoring ? 2 : L + 1) * N * C
        let head = N * C + 3 * N + (withLogits ? N * V : 0) + min(N, 256) * V
        let backward = forScoring ? 0 : N * (3 * C + QKV + attention + 3 * I) + threads * T * T
        return 4 * ((forScoring ? 1 : L) * perLayer + resid + head + backward) + 8 * N
    }

    deinit { ids.deallocate() }
}
