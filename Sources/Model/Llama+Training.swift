import Tensor

/// The training forward and backward passes: one short list of per-layer kernel calls, and the
/// same list in reverse.
extension Llama {
    /// NEFTune (Jain et al. 2023, arXiv 2310.05914): uniform noise on the input embeddings while
    /// training, in `[-alpha / sqrt(T·C), alpha / sqrt(T·C)]` with T the batch's padded length, as
    /// transformers' `neftune_post_forward_hook` adds it. The noise is a constant added to the
    /// residual stream, so the backward pass is unchanged.
    public struct EmbeddingNoise: Sendable {
        /// The paper's alpha (5 is its usual value).
        public var alpha: Float
        /// Seeds this batch's draws.
        public var seed: UInt64

        public init(alpha: Float, seed: UInt64) {
            self.alpha = alpha
            self.seed = seed
        }

        /// Adds the noise to the `count` values of `x`, embeddings of C values in sequences of T.
        public func add(to x: UnsafeMutablePointer<Float>, count: Int, T: Int, C: Int) {
            let magnitude = alpha / Float(T * C).squareRoot()
            var rng = SplitMix64(seed: seed)
            for i in 0..<count { x[i] += (2 * rng.nextFloat() - 1) * magnitude }
        }
    }

    /// Runs the decoder on `ids` (B, T), right-padded if sequences differ in length (causal
    /// attention means real tokens never see the padding after them), keeping what backward
    /// needs. The final hidden states land in `acts.hidden`.
    /// - Parameters:
    ///   - embeddingNoise: NEFTune's noise on the embeddings (training only), or nil.
    ///   - packing: where the tokens sit when rows are packed (`PackedLayout`), or nil for plain
    ///     rows; the backward pass follows the same layout.
    public func forward(ids: UnsafePointer<Int32>, acts a: TrainingActivations, embeddingNoise: EmbeddingNoise? = nil,
                        packing: PackedLayout? = nil, context: ComputeContext = .current) {
        context.run {
            let B = a.B, T = a.T, N = B * T
            let w = parameters.pointer
            for n in 0..<N {
                precondition(ids[n] >= 0 && Int(ids[n]) < V, "token id \(ids[n]) outside the vocabulary of \(V)")
            }
            packing?.validate(B: B, T: T, maxPositions: config.maxPositionEmbeddings)
            a.place(packing)
            a.ids.update(from: ids, count: N)
            adapters?.beginForward(a)
            Embedding.forward(out: a.resid[0].pointer, ids: ids, wte: w + layout.embedding, N: N, C: C)
            embeddingNoise?.add(to: a.resid[0].pointer, count: N * C, T: T, C: C)
            for l in 0..<L {
                let p = layout.layers[l]
                let x = a.resid[l].pointer, qkv = a.qkv[l].pointer
                RMSNorm.forward(out: a.ln1[l].pointer, rstd: a.rstd1[l].pointer, inp: x, weight: w + p.inputNorm,
                                N: N, C: C, eps: config.rmsNormEps)
                Linear.forward(out: qkv, inp: a.ln1[l].pointer, weight: w + p.qkvWeight, bias: p.qkvBias.map { w + $0 },
                               N: N, C: C, OC: QKV)
                adapters?.forward(.attentionInput, layer: l, out: qkv, inp: a.ln1[l].pointer, N: N, acts: a)
                // q and k heads are adjacent columns: one pass rotates both.
                Rotary.apply(qkv, ld: QKV, positions: a.positions, N: N, H: NH + NKV, HS: HS, table: rope)
                a.gaps.withOptionalPointer { gaps in
                    BLAS.perSequence(B) { b in
                        let q = qkv + b * T * QKV
                        Attention.forward(out: a.attOut[l].pointer + b * T * NH * HS, ldo: NH * HS, probs: a.probs[l].pointer + b * NH * T * T,
                                          q: q, ldq: QKV, k: q + NH * HS, v: q + (NH + NKV) * HS, ldkv: QKV,
                                          Tq: T, Tk: T, offset: 0, NH: NH, NKV: NKV, HS: HS, gaps: gaps.map { $0 + 2 * b * T })
                    }
                }
                let mid = a.residMid[l].pointer
                Linear.forward(out: mid, inp: a.attOut[l].pointer, weight: w + p.oWeight, bias: nil, N: N, C: NH * HS, OC: C)
                adapters?.forward(.attentionOutput, layer: l, out: mid, inp: a.attOut[l].pointer, N: N, acts: a)
                Residual.accumulate(mid, x, count: N * C)
                RMSNorm.forward(out: a.ln2[l].pointer, rstd: a.rstd2[l].pointer, inp: mid, weight: w + p.postNorm,
                                N: N, C: C, eps: config.rmsNormEps)
                Linear.forward(out: a.gateUp[l].pointer, inp: a.ln2[l].pointer, weight: w + p.gateUpWeight, bias: nil, N: N, C: C, OC: 2 * I)
                adapters?.forward(.mlpInput, layer: l, out: a.gateUp[l].pointer, inp: a.ln2[l].pointer, N: N, acts: a)
                SwiGLU.forward(out: a.mlpHidden[l].pointer, gateUp: a.gateUp[l].pointer, N: N, I: I)
                let out = a.resid[l + 1].pointer
                Linear.forward(out: out, inp: a.mlpHidden[l].pointer, weight: w + p.downWeight, bias: nil, N: N, C: I, OC: C)
                adapters?.forward(.mlpOutput, layer: l, out: out, inp: a.mlpHidden[l].pointer, N: N, acts: a)
                Residual.accumulate(out, mid, count: N * C)
            }
            RMSNorm.forward(out: a.hidden.pointer, rstd: a.rstdFinal.pointer, inp: a.resid[L].pointer, weight: w + layout.finalNorm,
                            N: N, C: C, eps: config.rmsNormEps)
        }
    }

    /// LM head: logits = hidden · W^T, then log p(targets[n]) into `acts.logprobs` (0 where the
    /// target is negative, i.e. ignored).
    ///
    /// With `keepLogits` (the default) all logits stay in `acts.logits` for the caller to read.
    /// Training passes `false`: the logits are then made `lmHeadChunkRows` rows at a time in a
    /// small buffer that stays in cache, and the backward makes them again the same way. A
    /// (B*T, V) logits matrix is tens of megabytes; streaming it through memory three times cost
    /// more than the extra matrix multiply.
    public func languageModelForward(targets: UnsafePointer<Int32>, acts a: TrainingActivations, keepLogits: Bool = true,
                                     context: ComputeContext = .current) {
        context.run {
            let N = a.B * a.T
            let w = parameters[lmHeadOffset]
            if keepLogits {
                precondition(a.logits.count >= N * V, "these activations were made without a logits buffer")
                Linear.forward(out: a.logits.pointer, inp: a.hidden.pointer, weight: w, bias: nil, N: N, C: C, OC: V)
                LogProbs.forward(logprobs: a.logprobs.pointer, lse: a.lse.pointer, logits: a.logits.pointer, targets: targets, N: N, V: V)
            } else {
                for r0 in stride(from: 0, to: N, by: a.lmHeadChunkRows) {
                    let R = min(a.lmHeadChunkRows, N - r0)
                    Linear.forward(out: a.logitsChunk.pointer, inp: a.hidden.pointer + r0 * C, weight: w, bias: nil, N: R, C: C, OC: V)
                    LogProbs.forward(logprobs: a.logprobs.pointer + r0, lse: a.lse.pointer + r0, logits: a.logitsChunk.pointer,
                                     targets: targets + r0, N: R, V: V)
                }
            }
            a.logitsKept = keepLogits
        }
    }

    /// Backward of the LM head from d loss / d logprobs (N): writes `acts.dHidden` and adds the
    /// head's weight gradient. Kept logits are overwritten with their gradient.
    public func languageModelBackward(dlogprobs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, acts a: TrainingActivations,
                                      context: ComputeContext = .current) {
        precondition(a.keepsBackward, "a backward pass over scoring activations, which keep nothing for it")
        context.run {
            let N = a.B * a.T
            // The head's weight gradient only when the base trains (LoRA freezes it).
            let dW: UnsafeMutablePointer<Float>? = trainsBase ? enableGradients()[lmHeadOffset] : nil
            let w = parameters[lmHeadOffset]
            if a.logitsKept {
                LogProbs.backward(dlogits: a.logits.pointer, dlogprobs: dlogprobs, logits: a.logits.pointer, lse: a.lse.pointer,
                                  targets: targets, N: N, V: V)
                a.dHidden.zero()
                Linear.backward(dinp: a.dHidden.pointer, dweight: dW, dbias: nil, dout: a.logits.pointer,
                                inp: a.hidden.pointer, weight: w, N: N, C: C, OC: V)
                return
            }
            a.dHidden.zero()
            for r0 in stride(from: 0, to: N, by: a.lmHeadChunkRows) {
                let R = min(a.lmHeadChunkRows, N - r0)
                let chunk = a.logitsChunk.pointer, h = a.hidden.pointer + r0 * C
                Linear.forward(out: chunk, inp: h, weight: w, bias: nil, N: R, C: C, OC: V)
                LogProbs.backward(dlogits: chunk, dlogprobs: dlogprobs + r0, logits: chunk, lse: a.lse.pointer + r0,
                                  targets: targets + r0, N: R, V: V)
                Linear.backward(dinp: a.dHidden.pointer + r0 * C, dweight: dW, dbias: nil, dout: chunk,
                                inp: h, weight: w, N: R, C: C, OC: V)
            }
        }
    }

    /// Backpropagates `acts.dHidden` through the decoder, adding into `gradients` (unless
    /// `trainsBase` is off) and into the attached adapters' gradients.
    public func backward(acts a: TrainingActivations, context: ComputeContext = .current) {
        precondition(a.keepsBackward, "a backward pass over scoring activations, which keep nothing for it")
        context.run {
            let B = a.B, T = a.T, N = B * T
            let w = parameters.pointer
            let g: UnsafeMutablePointer<Float>? = trainsBase ? enableGradients().pointer : nil
            // The gradient of the base parameter at `offset`, nil when the base is frozen.
            func dw(_ offset: Int) -> UnsafeMutablePointer<Float>? { g.map { $0 + offset } }
            let dResid = a.dResid.pointer, dLn = a.dLn.pointer
            a.dResid.zero()
            RMSNorm.backward(dinp: dResid, dweight: dw(layout.finalNorm), dout: a.dHidden.pointer, inp: a.resid[L].pointer,
                             weight: w + layout.finalNorm, rstd: a.rstdFinal.pointer, N: N, C: C)
            for l in stride(from: L - 1, through: 0, by: -1) {
                let p = layout.layers[l]
                // resid[l+1] = mid + down(swiglu(gateUp(norm2(mid)))): dResid flows to mid unchanged.
                a.dMLPHidden.zero()
                Linear.backward(dinp: a.dMLPHidden.pointer, dweight: dw(p.downWeight), dbias: nil, dout: dResid,
                                inp: a.mlpHidden[l].pointer, weight: w + p.downWeight, N: N, C: I, OC: C)
                adapters?.backward(.mlpOutput, layer: l, dinp: a.dMLPHidden.pointer, dout: dResid, inp: a.mlpHidden[l].pointer, N: N, acts: a)
                SwiGLU.backward(dgateUp: a.dGateUp.pointer, dout: a.dMLPHidden.pointer, gateUp: a.gateUp[l].pointer, N: N, I: I)
                a.dLn.zero()
                Linear.backward(dinp: dLn, dweight: dw(p.gateUpWeight), dbias: nil, dout: a.dGateUp.pointer,
                                inp: a.ln2[l].pointer, weight: w + p.gateUpWeight, N: N, C: C, OC: 2 * I)
                adapters?.backward(.mlpInput, layer: l, dinp: dLn, dout: a.dGateUp.pointer, inp: a.ln2[l].pointer, N: N, acts: a)
                RMSNorm.backward(dinp: dResid, dweight: dw(p.postNorm), dout: dLn, inp: a.residMid[l].pointer,
                                 weight: w + p.postNorm, rstd: a.rstd2[l].pointer, N: N, C: C)
                // mid = resid[l] + o(attention(...)): dResid flows to resid[l] unchanged.
                a.dAttOut.zero()
                Linear.backward(dinp: a.dAttOut.pointer, dweight: dw(p.oWeight), dbias: nil, dout: dResid,
                                inp: a.attOut[l].pointer, weight: w + p.oWeight, N: N, C: NH * HS, OC: C)
                adapters?.backward(.attentionOutput, layer: l, dinp: a.dAttOut.pointer, dout: dResid, inp: a.attOut[l].pointer, N: N, acts: a)
                a.dQKV.zero()
                BLAS.perSequence(B, maxParts: a.scratchParts) { (part: Int, b: Int) in
                    let q = a.qkv[l].pointer + b * T * QKV, dq = a.dQKV.pointer + b * T * QKV
                    Attention.backward(dq: dq, dk: dq + NH * HS, dv: dq + (NH + NKV) * HS,
                                       dout: a.dAttOut.pointer + b * T * NH * HS, ldo: NH * HS,
                                       probs: a.probs[l].pointer + b * NH * T * T,
                                       q: q, ldq: QKV, k: q + NH * HS, v: q + (NH + NKV) * HS, ldkv: QKV,
                                       scratch: a.attScratch.pointer + part * T * T, T: T, NH: NH, NKV: NKV, HS: HS)
                }
                Rotary.apply(a.dQKV.pointer, ld: QKV, positions: a.positions, N: N, H: NH + NKV, HS: HS, table: rope, inverse: true)
                a.dLn.zero()
                Linear.backward(dinp: dLn, dweight: dw(p.qkvWeight), dbias: p.qkvBias.flatMap(dw), dout: a.dQKV.pointer,
                                inp: a.ln1[l].pointer, weight: w + p.qkvWeight, N: N, C: C, OC: QKV)
                adapters?.backward(.attentionInput, layer: l, dinp: dLn, dout: a.dQKV.pointer, inp: a.ln1[l].pointer, N: N, acts: a)
                RMSNorm.backward(dinp: dResid, dweight: dw(p.inputNorm), dout: dLn, inp: a.resid[l].pointer,
                                 weight: w + p.inputNorm, rstd: a.rstd1[l].pointer, N: N, C: C)
            }
            if let g { Embedding.backward(dwte: g + layout.embedding, dout: dResid, ids: a.ids, N: N, C: C) }
        }
    }
}
