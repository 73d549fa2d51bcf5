import Tensor

/// The scalar score head of reward (and critic) models, as LlamaForSequenceClassification with
/// one label: `score = h · w`, no bias, read at the last real token of each sequence.
extension Llama {
    /// Scores each sequence: the final hidden state at its last real token dotted with
    /// `score.weight`. transformers finds that token as the last one before the first pad token;
    /// batches here are right-padded, so it is `lengths[b] - 1`.
    /// - Parameters:
    ///   - lengths: (B) real tokens per row, each in 1...T.
    ///   - acts: activations after `forward(ids:acts:)`.
    /// - Returns: (B) scores.
    public func scoreForward(lengths: [Int], acts a: TrainingActivations) -> [Float] {
        let w = scoreWeight
        return (0..<a.B).map { b in scoreDot(a.hidden.pointer + lastRow(b, lengths, a) * C, w, C) }
    }

    /// The score at given rows of the final hidden states (flat (B, T) positions): a packed
    /// batch's sequences end where its layout says, not at each row's end.
    public func score(atPositions positions: [Int], acts a: TrainingActivations) -> [Float] {
        let w = scoreWeight
        return positions.map { n in
            precondition(n >= 0 && n < a.B * a.T, "position \(n) outside the (\(a.B), \(a.T)) batch")
            return scoreDot(a.hidden.pointer + n * C, w, C)
        }
    }

    /// Backward of the score head from d loss / d score (B): writes `acts.dHidden` (zero except
    /// at each row's last real token) and adds `h · dscore` into the gradient of `score.weight`:
    /// the attached adapters' gradient when they carry the head, else the model's own when the
    /// base trains; with adapters attached and the base frozen, the head is frozen too.
    /// - Parameters:
    ///   - dscores: (B) gradient of the loss with respect to each score.
    ///   - lengths: (B) the lengths given to `scoreForward`.
    ///   - acts: the activations of that forward pass.
    public func scoreBackward(dscores: [Float], lengths: [Int], acts a: TrainingActivations) {
        precondition(dscores.count == a.B, "one score gradient per row")
        let g = scoreWeightGradient()
        let w = scoreWeight
        a.dHidden.zero()
        for b in 0..<a.B {
            let row = lastRow(b, lengths, a) * C
            let d = dscores[b]
            let dh = a.dHidden.pointer + row, h = a.hidden.pointer + row
            for c in 0..<C {
                dh[c] = d * w[c]
            }
            if let g { for c in 0..<C { g[c] += d * h[c] } }
        }
    }

    /// A reward model that starts from this language model, as DeepSpeed-Chat and trl start
    /// step 2 from the SFT model: the same decoder weights, the LM head dropped, and a new
    /// `score.weight` (1, C) drawn from N(0, std) with `seed` (transformers' initializer_range).
    /// - Parameters:
    ///   - padTokenID: the pad id transformers needs to find each sequence's last token.
    ///   - seed: the seed of the new head.
    ///   - std: standard deviation of the new head.
    public func makeRewardModel(padTokenID: Int, seed: UInt64, std: Float = 0.02) -> Llama {
        var config = self.config
        config.architecture = config.modelType == "qwen2" ? "Qwen2ForSequenceClassification" : "LlamaForSequenceClassification"
        config.numLabels = 1
        config.padTokenID = padTokenID
        // A sequence classifier has no LM head to tie; the flag would only confuse loaders.
        config.tieWordEmbeddings = false
        let rm = Llama(config: config, head: .score(labels: 1))
        for e in rm.layout.entries where e.name != "score.weight" {
            guard let source = layout.entry(named: e.name) else {
                preconditionFailure("decoder tensor \(e.name) missing from the language model")
            }
            rm.parameters[e.offset].update(from: parameters[source.offset], count: e.count)
        }
        var rng = SplitMix64(seed: seed)
        let w = rm.parameters[rm.scoreOffset]
        for c in 0..<rm.C { w[c] = rng.nextGaussian() * std }
        return rm
    }

    /// The score head the passes read: the attached adapters' trainable copy when they carry
    /// one (SEQ_CLS with `modules_to_save`), else the model's `score.weight`.
    var scoreWeight: UnsafeMutablePointer<Float> {
        if let adapters, let s = adapters.layout.scoreHead { return adapters.parameters[s] }
        return parameters[scoreOffset]
    }

    /// Where the score head's weight gradient goes (see `scoreBackward`), nil when it is frozen.
    func scoreWeightGradient() -> UnsafeMutablePointer<Float>? {
        if let adapters, let s = adapters.layout.scoreHead { return adapters.enableGradients()[s] }
        if trainsBase || adapters == nil { return enableGradients()[scoreOffset] }
        return nil
    }

    /// Offset of `score.weight`; only a single-label head is read by these functions.
    var scoreOffset: Int {
        guard let s = layout.score, layout.head == .score(labels: 1) else {
            preconditionFailure("the model has no single-label score head (head: \(layout.head))")
        }
        return s
    }

    private func lastRow(_ b: Int, _ lengths: [Int], _ a: TrainingActivations) -> Int {
        precondition(lengths.count == a.B, "one length per row")
        precondition(lengths[b] >= 1 && lengths[b] <= a.T, "row \(b): length \(lengths[b]) outside 1...\(a.T)")
        return b * a.T + lengths[b] - 1
    }
}

/// Sum of x[i] * y[i] accumulated in Double, so a score does not depend on C's rounding order.
func scoreDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    var s = 0.0
    for i in 0..<n { s += Double(x[i]) * Double(y[i]) }
    return Float(s)
}
