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
/// fused q/k/v, o, fused gate/up and down projections and the LM head, each packed for the
/// bfloat16 row kernel (`BFloat16.pack`); the embedding lookup, norms and biases stay float32.
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
    /// Each matrix: its offset in the float32 block, its shape, its offset in `values`.
    private let matrices: [(offset: Int, OC: Int, C: Int, packed: Int)]
    private let packedOffset: [Int: Int]
    /// The packed matrices, one after the other.
    let values: UnsafeMutablePointer<UInt16>
    private let count: Int
    private var fingerprint: UInt64 = 0
    /// How many times the copy was made (for tests and logs).
    public private(set) var refreshes = 0

    /// A bfloat16 copy of `model`'s matrices (a model with an LM head).
    public init(model m: Llama) {
        source = m.parameters
        var shapes: [(offset: Int, OC: Int, C: Int)] = []
        for l in m.layout.layers {
            shapes += [(l.qkvWeight, m.QKV, m.C), (l.oWeight, m.C, m.NH * m.HS), (l.gateUpWeight, 2 * m.I, m.C), (l.downWeight, m.C, m.I)]
        }
        shapes.append((m.lmHeadOffset, m.V, m.C))
        var packed = 0
        var matrices: [(offset: Int, OC: Int, C: Int, packed: Int)] = []
        for s in shapes {
            matrices.append((s.offset, s.OC, s.C, packed))
            packed += BFloat16.packedCount(OC: s.OC, C: s.C)
        }
        self.matrices = matrices
        packedOffset = Dictionary(uniqueKeysWithValues: matrices.map { ($0.offset, $0.packed) })
        count = packed
        values = .allocate(capacity: max(1, packed))
        refresh()
    }

    deinit { values.deallocate() }

    /// Whether this copies `model`'s parameter block.
    func isCopy(of model: Llama) -> Bool { source === model.parameters }

    /// The packed copy of the matrix at `offset` of the float32 block.
    func packed(at offset: Int) -> UnsafePointer<UInt16> {
        guard let p = packedOffset[offset] else { preconditionFailure("no bfloat16 copy of the matrix at \(offset)") }
        return UnsafePointer(values + p)
    }

    /// Bytes of the copy.
    public var bytes: Int { 2 * count }

    /// Rounds and packs the model's current matrices into the copy (the context's threads split
    /// each matrix).
    public func refresh() {
        for m in matrices {
            BFloat16.pack(source.pointer + m.offset, OC: m.OC, C: m.C, into: values + m.packed)
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
