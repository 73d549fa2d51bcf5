/// Keys and values of every layer for a batch of sequences being decoded, plus the workspace
/// the inference pass reuses from step to step.
public final class KVCache {
    public let batch: Int
    public let capacity: Int
    /// Tokens already in the cache, per sequence.
    public internal(set) var lengths: [Int]
    // Per layer (batch, capacity, NKV*HS): row p of sequence s at (s * capacity + p).
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    var workspace: InferenceWorkspace?
    /// (batch, V): the last pass's logits, one row per segment.
    let logits: FloatBuffer

    /// A cache for `batch` sequences of up to `capacity` tokens each.
    /// - Throws: ``ModelInputError`` when batch or capacity is below 1 or the capacity is past
    ///   the model's max_position_embeddings.
    public convenience init(model m: Llama, batch: Int, capacity: Int) throws {
        guard batch >= 1 else { throw ModelInputError.notPositive(what: "KV cache batch", value: batch) }
        guard capacity >= 1 else { throw ModelInputError.notPositive(what: "KV cache capacity", value: capacity) }
        guard capacity <= m.config.maxPositionEmbeddings else {
            throw ModelInputError.sequenceTooLong(what: "a KV cache", length: capacity, maxPositionEmbeddings: m.config.maxPositionEmbeddings)
        }
        self.init(validatedModel: m, batch: batch, capacity: capacity)
    }

    /// The cache without the checks: for callers that validated the sizes already.
    init(validatedModel m: Llama, batch: Int, capacity: Int) {
        precondition(batch >= 1 && capacity >= 1 && capacity <= m.config.maxPositionEmbeddings, "unvalidated KV cache shape")
        self.batch = batch
        self.capacity = capacity
        lengths = [Int](repeating: 0, count: batch)
        let kv = batch * capacity * m.NKV * m.HS
        keys = (0..<m.L).map { _ in FloatBuffer(count: kv) }
        values = (0..<m.L).map { _ in FloatBuffer(count: kv) }
        logits = FloatBuffer(count: batch * m.V)
    }

    /// Makes sequence `target` a copy of sequence `source`: its keys and values in every layer
    /// and its length (a prompt prefilled once for several samples).
    func copySequence(_ source: Int, to target: Int) {
        let n = lengths[source] * (keys[0].count / (batch * capacity))
        for l in keys.indices {
            for buffer in [keys[l], values[l]] {
                (buffer.pointer + target * (buffer.count / batch)).update(from: buffer.pointer + source * (buffer.count / batch), count: n)
            }
        }
        lengths[target] = lengths[source]
    }

    /// Forgets every sequence (the buffers are kept).
    public func reset() { lengths = [Int](repeating: 0, count: batch) }
}

/// Buffers for an inference pass over up to `rows` tokens, grown when a larger pass comes.
final class InferenceWorkspace {
    /// Rows, attention probabilities per part, parts (threads) the segments' attention splits into.
    let rows: Int, probsCount: Int, parts: Int
    let x, ln, qkv, att, mid, gateUp, mlp: FloatBuffer
    let probs: FloatBuffer
    let rstd: FloatBuffer
    /// (rows, r + widest adapter output) for attached LoRA adapters' intermediate products.
    let loraScratch: FloatBuffer
    let positions: UnsafeMutablePointer<Int32>

    init(model m: Llama, rows: Int, probsCount: Int, parts: Int, loraRank: Int) {
        self.rows = rows
        self.probsCount = probsCount
        self.parts = parts
        x = FloatBuffer(count: rows * m.C); ln = FloatBuffer(count: rows * m.C); qkv = FloatBuffer(count: rows * m.QKV)
        att = FloatBuffer(count: rows * m.NH * m.HS); mid = FloatBuffer(count: rows * m.C)
        gateUp = FloatBuffer(count: rows * 2 * m.I); mlp = FloatBuffer(count: rows * m.I)
        probs = FloatBuffer(count: probsCount * parts)
        rstd = FloatBuffer(count: rows)
        loraScratch = FloatBuffer(count: rows * loraRank)
        positions = .allocate(capacity: rows)
        positions.initialize(repeating: 0, count: rows)
    }

    deinit { positions.deallocate() }
}
