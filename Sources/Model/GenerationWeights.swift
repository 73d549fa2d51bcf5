import Tensor

/// The precision of the weights generation multiplies by. Sums are float32 either way; only the
/// weights read by the row kernel change. Scoring and training always run in float32.
public enum GenerationPrecision: String, Sendable, Codable, CaseIterable {
    /// The model's own float32 weights.
    case float32
    /// A bfloat16 copy of the matrices (rounded to nearest even), widened to float32 in
    /// registers: half the bytes to read per decoding step (Docs/models.md, "Generation in bfloat16").
    case bfloat16
}

/// A bfloat16 copy of the matrices the row kernel multiplies by in generation: every layer's
/// q/k/v, o, gate/up and down projections and the LM head, at the same offsets as in the
/// float32 block (the embedding lookup, norms and biases stay float32 and are not copied).
///
/// The copy is of the weights at the time of `refresh()`: whoever changes the model's weights
/// refreshes it (the step-3 generator after loading a policy version). As a safety net,
/// `refreshIfChanged()`, called by the generator before each call, compares a fingerprint of a
/// strided sample of the weights and refreshes on a difference. LoRA adapters are not copied:
/// they stay float32 and are added by their own products, so under LoRA the copy of the frozen
/// base is made once.
public final class GenerationWeights {
    /// The float32 block this is a copy of.
    let source: FloatBuffer
    let layout: ParameterLayout
    let lmHeadOffset: Int
    /// (layout.count) bfloat16 values; only the matrices' ranges are written.
    let values: UnsafeMutablePointer<UInt16>
    private var fingerprint: UInt64 = 0
    /// How many times the copy was made (for tests and logs).
    public private(set) var refreshes = 0

    /// A bfloat16 copy of `model`'s matrices.
    public init(model: Llama) {
        source = model.parameters
        layout = model.layout
        lmHeadOffset = model.lmHeadOffset
        // Only the matrices' pages are ever written; the rest of the allocation stays untouched.
        values = .allocate(capacity: max(1, model.parameters.count))
        refresh()
    }

    deinit { values.deallocate() }

    /// Whether this copies `model`'s parameter block.
    func isCopy(of model: Llama) -> Bool { source === model.parameters }

    /// The (offset, count) of every matrix the row kernel reads: the layers' projections and
    /// the LM head (lm_head, or the embedding when tied).
    private var ranges: [(offset: Int, count: Int)] {
        let projections = ["q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight",
                           "gate_proj.weight", "up_proj.weight", "down_proj.weight"]
        return layout.entries.filter { e in
            (e.name.hasPrefix("model.layers.") && projections.contains { e.name.hasSuffix($0) })
                || (layout.score == nil && e.offset == lmHeadOffset)
        }.map { ($0.offset, $0.count) }
    }

    /// Rounds the model's current matrices into the copy (the context's threads split it).
    public func refresh() {
        let src = source.pointer, dst = values
        for (offset, count) in ranges {
            let chunk = 1 << 18
            Parallel.forChunks((count + chunk - 1) / chunk) { (blocks: Range<Int>) in
                let lo = blocks.lowerBound * chunk, hi = min(count, blocks.upperBound * chunk)
                BFloat16.round(src + offset + lo, into: dst + offset + lo, count: hi - lo)
            }
        }
        fingerprint = Self.fingerprint(source)
        refreshes += 1
    }

    /// Refreshes the copy when a sample of the weights changed since the last refresh (a
    /// safety net: callers that change the weights refresh explicitly).
    public func refreshIfChanged() {
        if Self.fingerprint(source) != fingerprint { refresh() }
    }

    /// FNV-1a over every 4093rd value's bits (about 0.03% of the block).
    private static func fingerprint(_ b: FloatBuffer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        while i < b.count {
            h = (h ^ UInt64(b.pointer[i].bitPattern)) &* 0x100_0000_01b3
            i += 4093
        }
        return h
    }
}
