/// The critic of PPO: the reward model's scalar score head applied at every position, as
/// DeepSpeed-Chat's critic (a reward model whose `forward_value` returns the value of every
/// token) is initialised from the step-2 reward model and keeps its layout.
extension Llama {
    /// Loads a critic from a step-2 reward-model directory (HF layout, single-label score head);
    /// `save(directory:)` writes it back in the same layout.
    /// - Throws: ``CheckpointError`` when the directory cannot be read or holds no single-label
    ///   score head (a language model, or a classifier of several labels).
    public static func loadCritic(directory: String) throws -> Llama {
        let model = try load(directory: directory)
        guard model.layout.score != nil, model.layout.head == .score(labels: 1) else {
            throw CheckpointError(.invalidValue, path: directory, field: "architectures",
                                  "a critic starts from a reward model (a single-label sequence classifier), but this is \(model.config.architecture) with head \(model.layout.head)")
        }
        return model
    }

    /// The value of every position: the final hidden state dotted with `score.weight`, the same
    /// product `scoreForward` takes at each row's last token (so the value at a sequence's last
    /// token is the reward model's score of it).
    /// - Parameter acts: activations after `forward(ids:acts:)`.
    /// - Returns: (B*T) values, row-major.
    public func valuesForward(acts a: TrainingActivations) -> [Float] {
        let w = scoreWeight
        let h = a.hidden.pointer
        return (0..<(a.B * a.T)).map { n in scoreDot(h + n * C, w, C) }
    }

    /// Backward of `valuesForward` from d loss / d value (B*T): writes `acts.dHidden`
    /// (dvalue[n] * w at each row n) and adds Σ_n dvalue[n] * h[n] into the score head's gradient
    /// (the same destination `scoreBackward` uses). Follow with `backward(acts:)`.
    /// - Parameters:
    ///   - dvalues: (B*T) gradient of the loss with respect to each value (0 at ignored positions).
    ///   - acts: the activations of the forward pass.
    public func valuesBackward(dvalues: UnsafePointer<Float>, acts a: TrainingActivations) {
        let g = scoreWeightGradient()
        let w = scoreWeight
        let N = a.B * a.T
        for n in 0..<N {
            let d = dvalues[n]
            let dh = a.dHidden.pointer + n * C, h = a.hidden.pointer + n * C
            for c in 0..<C {
                dh[c] = d * w[c]
            }
            if let g, d != 0 { for c in 0..<C { g[c] += d * h[c] } }
        }
    }
}
