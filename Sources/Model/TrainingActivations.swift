import Tensor

/// Everything a training forward pass keeps for its backward, for one batch shape (B, T).
///
/// Allocated once per shape and reused every step, so a step allocates nothing.
public final class TrainingActivations {
    public let B: Int, T: Int
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
    let positions: [Int32]       // (N): t for each row
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
    public init(model m: Llama, B: Int, T: Int, withLogits: Bool = true, context: ComputeContext = .current) {
        self.B = B
        self.T = T
        let N = B * T, L = m.L
        func bufs(_ n: Int) -> [FloatBuffer] { (0..<L).map { _ in FloatBuffer(count: n) } }
        resid = (0...L).map { _ in FloatBuffer(count: N * m.C) }
        ln1 = bufs(N * m.C); rstd1 = bufs(N); qkv = bufs(N * m.QKV); probs = bufs(B * m.NH * T * T)
        attOut = bufs(N * m.NH * m.HS); residMid = bufs(N * m.C); ln2 = bufs(N * m.C); rstd2 = bufs(N)
        gateUp = bufs(N * 2 * m.I); mlpHidden = bufs(N * m.I)
        hidden = FloatBuffer(count: N * m.C); rstdFinal = FloatBuffer(count: N)
        logits = FloatBuffer(count: withLogits ? N * m.V : 0)
        lmHeadChunkRows = min(N, 256)
        logitsChunk = FloatBuffer(count: lmHeadChunkRows * m.V)
        lse = FloatBuffer(count: N); logprobs = FloatBuffer(count: N)
        positions = (0..<N).map { Int32($0 % T) }
        dHidden = FloatBuffer(count: N * m.C); dResid = FloatBuffer(count: N * m.C); dLn = FloatBuffer(count: N * m.C)
        dQKV = FloatBuffer(count: N * m.QKV); dAttOut = FloatBuffer(count: N * m.NH * m.HS)
        dGateUp = FloatBuffer(count: N * 2 * m.I); dMLPHidden = FloatBuffer(count: N * m.I)
        scratchParts = context.threads
        attScratch = FloatBuffer(count: scratchParts * T * T)
        ids = .allocate(capacity: N)
        ids.initialize(repeating: 0, count: N)
    }

    deinit { ids.deallocate() }
}
