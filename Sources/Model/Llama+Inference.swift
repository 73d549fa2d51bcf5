import Tensor

/// A run of consecutive tokens of one sequence fed to an inference pass.
public struct TokenSegment: Sendable {
    /// Which sequence of the cache.
    public var sequence: Int
    /// The tokens; the first goes at the sequence's current cache length.
    public var tokens: [Int32]
    public init(sequence: Int, tokens: [Int32]) {
        self.sequence = sequence
        self.tokens = tokens
    }
}

extension Llama {
    /// Appends each segment's tokens to its sequence in `cache` and returns the logits after
    /// the last token of each segment: (segments.count, V), row-major.
    ///
    /// Prefill (whole prompts of different lengths) and decoding (one token per sequence) are the
    /// same call, and all segments share each matrix multiply, so a batch of eight decodes costs
    /// one (8, C) x (C, ·) product per weight rather than eight vector products.
    /// - Parameter weights: a bfloat16 copy of this model's matrices to multiply by instead of
    ///   its float32 weights (nil: float32).
    public func inferenceForward(_ segments: [TokenSegment], cache: KVCache, weights: GenerationWeights? = nil,
                                 context: ComputeContext = .current) -> [Float] {
        Array(inferenceLogits(segments, cache: cache, weights: weights, context: context))
    }

    /// As `inferenceForward`, but the logits stay in the cache's own buffer (valid until the next
    /// pass over `cache`): the decoding loop's form, which allocates nothing per token.
    ///
    /// A decoding step of a small model is a few rows: its products are below `BLAS.splitWork`,
    /// so they run on the calling thread (waking another costs more than the products); a long
    /// prefill, or a weight of `Linear.splitWeightBytes` or more (a large model's), splits its
    /// products over `context`'s threads, as the segments' attention is split.
    public func inferenceLogits(_ segments: [TokenSegment], cache: KVCache, weights: GenerationWeights? = nil,
                                context: ComputeContext = .current) -> UnsafeBufferPointer<Float> {
        precondition(segments.count <= cache.batch, "more segments (\(segments.count)) than sequences in the cache (\(cache.batch))")
        precondition(weights?.isCopy(of: self) ?? true, "generation weights of another model")
        let R = segments.reduce(0) { $0 + $1.tokens.count }
        return context.run { inferencePass(segments, rows: R, cache: cache, weights: weights) }
    }

    private func inferencePass(_ segments: [TokenSegment], rows R: Int, cache: KVCache,
                               weights: GenerationWeights?) -> UnsafeBufferPointer<Float> {
        var maxProbs = 0
        for s in segments {
            precondition(s.sequence >= 0 && s.sequence < cache.batch, "sequence \(s.sequence) outside the cache batch")
            let end = cache.lengths[s.sequence] + s.tokens.count
            precondition(end <= cache.capacity, "sequence \(s.sequence) would grow to \(end) tokens, past the cache capacity \(cache.capacity)")
            maxProbs = max(maxProbs, NH * s.tokens.count * end)
            for t in s.tokens { precondition(t >= 0 && Int(t) < V, "token id \(t) outside the vocabulary of \(V)") }
        }
        let loraRank = adapters?.inferenceScratchWidth ?? 0
        // Segments' attention runs in parts over the context's threads, each with its own probs.
        let parts = min(Parallel.threads, segments.count)
        if cache.workspace == nil || cache.workspace!.rows < R || cache.workspace!.probsCount < maxProbs
            || cache.workspace!.parts < parts || cache.workspace!.loraScratch.count < R * loraRank {
            cache.workspace = InferenceWorkspace(model: self, rows: max(R, cache.workspace?.rows ?? 0),
                                                 probsCount: max(maxProbs, cache.workspace?.probsCount ?? 0),
                                                 parts: max(parts, cache.workspace?.parts ?? 1), loraRank: loraRank)
        }
        let ws = cache.workspace!
        let w = parameters.pointer
        // out (N, OC) = inp (N, C) . W^T for the matrix at `offset`, in float32 or bfloat16.
        func byRows(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ offset: Int, bias: UnsafePointer<Float>? = nil,
                    N: Int, C: Int, OC: Int) {
            if let weights {
                Linear.forwardByRows(out: out, inp: inp, packedWeight: weights.packed(at: offset), bias: bias, N: N, C: C, OC: OC)
            } else {
                Linear.forwardByRows(out: out, inp: inp, weight: w + offset, bias: bias, N: N, C: C, OC: OC)
            }
        }
        let KVC = NKV * HS, AC = NH * HS
        // Row layout: segment after segment.
        var rowStart: [Int] = []
        var r = 0
        for s in segments {
            rowStart.append(r)
            let start = cache.lengths[s.sequence]
            for (i, t) in s.tokens.enumerated() {
                ws.positions[r] = Int32(start + i)
                (ws.x.pointer + r * C).update(from: w + layout.embedding + Int(t) * C, count: C)
                r += 1
            }
        }
        for l in 0..<L {
            let p = layout.layers[l]
            let qkv = ws.qkv.pointer
            RMSNorm.forward(out: ws.ln.pointer, rstd: ws.rstd.pointer, inp: ws.x.pointer, weight: w + p.inputNorm, N: R, C: C, eps: config.rmsNormEps)
            byRows(qkv, ws.ln.pointer, p.qkvWeight, bias: p.qkvBias.map { w + $0 }, N: R, C: C, OC: QKV)
            adapters?.inferenceForward(.attentionInput, layer: l, out: qkv, inp: ws.ln.pointer, N: R, scratch: ws.loraScratch.pointer)
            Rotary.apply(qkv, ld: QKV, positions: ws.positions, N: R, H: NH + NKV, HS: HS, table: rope)
            // Each segment's attention reads and writes its own rows and cache, so segments split
            // over the threads change no bit (a decoding step of a large batch: 7% of it on one thread).
            let keys = cache.keys[l].pointer, values = cache.values[l].pointer
            Parallel.forChunks(segments.count, maxParts: ws.parts) { (part: Int, range: Range<Int>) in
                let probs = ws.probs.pointer + part * ws.probsCount
                for si in range {
                    let s = segments[si]
                    let start = cache.lengths[s.sequence], n = s.tokens.count
                    let kc = keys + s.sequence * cache.capacity * KVC
                    let vc = values + s.sequence * cache.capacity * KVC
                    for i in 0..<n {
                        let row = qkv + (rowStart[si] + i) * QKV
                        (kc + (start + i) * KVC).update(from: row + AC, count: KVC)
                        (vc + (start + i) * KVC).update(from: row + AC + KVC, count: KVC)
                    }
                    Attention.forward(out: ws.att.pointer + rowStart[si] * AC, ldo: AC, probs: probs,
                                      q: qkv + rowStart[si] * QKV, ldq: QKV, k: kc, v: vc, ldkv: KVC,
                                      Tq: n, Tk: start + n, offset: start, NH: NH, NKV: NKV, HS: HS)
                }
            }
            byRows(ws.mid.pointer, ws.att.pointer, p.oWeight, N: R, C: AC, OC: C)
            adapters?.inferenceForward(.attentionOutput, layer: l, out: ws.mid.pointer, inp: ws.att.pointer, N: R, scratch: ws.loraScratch.pointer)
            Residual.accumulate(ws.mid.pointer, ws.x.pointer, count: R * C)
            RMSNorm.forward(out: ws.ln.pointer, rstd: ws.rstd.pointer, inp: ws.mid.pointer, weight: w + p.postNorm, N: R, C: C, eps: config.rmsNormEps)
            byRows(ws.gateUp.pointer, ws.ln.pointer, p.gateUpWeight, N: R, C: C, OC: 2 * I)
            adapters?.inferenceForward(.mlpInput, layer: l, out: ws.gateUp.pointer, inp: ws.ln.pointer, N: R, scratch: ws.loraScratch.pointer)
            SwiGLU.forward(out: ws.mlp.pointer, gateUp: ws.gateUp.pointer, N: R, I: I)
            byRows(ws.x.pointer, ws.mlp.pointer, p.downWeight, N: R, C: I, OC: C)
            adapters?.inferenceForward(.mlpOutput, layer: l, out: ws.x.pointer, inp: ws.mlp.pointer, N: R, scratch: ws.loraScratch.pointer)
            Residual.accumulate(ws.x.pointer, ws.mid.pointer, count: R * C)
        }
        for s in segments { cache.lengths[s.sequence] += s.tokens.count }
        // Only each segment's last row needs the final norm and the head.
        let G = segments.count
        for (si, s) in segments.enumerated() {
            (ws.mid.pointer + si * C).update(from: ws.x.pointer + (rowStart[si] + s.tokens.count - 1) * C, count: C)
        }
        RMSNorm.forward(out: ws.ln.pointer, rstd: ws.rstd.pointer, inp: ws.mid.pointer, weight: w + layout.finalNorm, N: G, C: C, eps: config.rmsNormEps)
        byRows(cache.logits.pointer, ws.ln.pointer, lmHeadOffset, N: G, C: C, OC: V)
        return UnsafeBufferPointer(start: cache.logits.pointer, count: G * V)
    }
}
