import Tensor

/// What a training forward with adapters keeps for backward, beside the base activations
/// (`TrainingActivations.lora`). The adapters' inputs are the base layers' inputs, which the
/// base activations already keep, and dropout masks are regenerated from their seed, so only
/// each adapter's (N, r) intermediate is stored.
final class LoRAActivations {
    let N: Int, r: Int, adapterCount: Int, maxIn: Int
    let h: FloatBuffer      // (adapters, N, r): dropout(x) A^T of each adapter
    let dh: FloatBuffer     // (N, r) backward scratch
    let dropped: FloatBuffer   // (N, maxIn) dropout(x), recomputed per adapter when dropout is on
    let dDropped: FloatBuffer  // (N, maxIn) its gradient
    /// The dropout seed of the last forward, nil when it applied no dropout.
    var passSeed: UInt64?

    init(N: Int, layout: LoRALayout, dropout: Bool) {
        self.N = N
        r = layout.r
        adapterCount = layout.adapters.count
        maxIn = dropout ? layout.maxInFeatures : 0
        h = FloatBuffer(count: adapterCount * N * r)
        dh = FloatBuffer(count: N * r)
        dropped = FloatBuffer(count: N * maxIn)
        dDropped = FloatBuffer(count: N * maxIn)
    }
}

/// The hooks the model's passes call after each fused projection: one call per site adds the
/// updates of every adapter of that site into column slices of the projection's output.
extension LoRAAdapters {
    /// Prepares `acts` for a training forward and draws this pass's dropout seed.
    func beginForward(_ acts: TrainingActivations) {
        let dropout = appliesDropout && config.dropout > 0
        let N = acts.B * acts.T
        let maxIn = config.dropout > 0 ? layout.maxInFeatures : 0
        // Allocated at the first forward with these adapters, then reused every step.
        if acts.lora.map({ $0.N != N || $0.r != layout.r || $0.adapterCount != layout.adapters.count || $0.maxIn != maxIn }) ?? true {
            acts.lora = LoRAActivations(N: N, layout: layout, dropout: config.dropout > 0)
        }
        acts.lora!.passSeed = dropout ? LoRAAdapters.mix(dropoutSeed, dropoutCounter) : nil
        if dropout { dropoutCounter &+= 1 }
    }

    // out: (N, site width) += adapters' updates; inp: (N, in) the site's input, kept for backward.
    func forward(_ site: LoRALayout.Site, layer: Int, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                 N: Int, acts: TrainingActivations) {
        let la = acts.lora!
        let w = parameters.pointer, r = layout.r
        for i in layout.bySite[layer][site.rawValue] {
            let ad = layout.adapters[i]
            var x = inp
            if let seed = la.passSeed {
                Dropout.forward(out: la.dropped.pointer, inp: inp, count: N * ad.inFeatures, p: Float(config.dropout),
                                seed: LoRAAdapters.mix(seed, UInt64(i)))
                x = UnsafePointer(la.dropped.pointer)
            }
            LoRA.forward(out: out + ad.column, ldo: ad.siteWidth, h: la.h.pointer + i * N * r, inp: x, a: w + ad.a, b: w + ad.b,
                         N: N, C: ad.inFeatures, OC: ad.outFeatures, R: r, scaling: config.scaling)
        }
    }

    // dinp: (N, in) += the adapters' input gradient; dout: (N, site width) the projection's output
    // gradient; inp as in forward. Adds into `gradients`.
    func backward(_ site: LoRALayout.Site, layer: Int, dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                  inp: UnsafePointer<Float>, N: Int, acts: TrainingActivations) {
        let la = acts.lora!
        let w = parameters.pointer, g = enableGradients().pointer, r = layout.r
        let p = Float(config.dropout)
        for i in layout.bySite[layer][site.rawValue] {
            let ad = layout.adapters[i]
            let count = N * ad.inFeatures
            var x = inp, dx = dinp
            let seed = la.passSeed.map { LoRAAdapters.mix($0, UInt64(i)) }
            if let seed {
                Dropout.forward(out: la.dropped.pointer, inp: inp, count: count, p: p, seed: seed)
                la.dDropped.pointer.update(repeating: 0, count: count)
                x = UnsafePointer(la.dropped.pointer)
                dx = la.dDropped.pointer
            }
            LoRA.backward(dinp: dx, da: g + ad.a, db: g + ad.b, dh: la.dh.pointer, dout: dout + ad.column, ldo: ad.siteWidth,
                          inp: x, h: la.h.pointer + i * N * r, a: w + ad.a, b: w + ad.b,
                          N: N, C: ad.inFeatures, OC: ad.outFeatures, R: r, scaling: config.scaling)
            if let seed {
                Dropout.backward(dinp: dinp, dout: la.dDropped.pointer, count: count, p: p, seed: seed)
            }
        }
    }

    // The inference path: as forward, without dropout and without keeping anything. `scratch`
    // (N, r + scratchWidth) belongs to the caller's KV cache, so several caches can decode at once.
    /// Scratch per row that `inferenceForward` needs: the rank, and the widest adapter's output.
    var inferenceScratchWidth: Int { layout.r + (layout.adapters.map(\.outFeatures).max() ?? 0) }

    func inferenceForward(_ site: LoRALayout.Site, layer: Int, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, N: Int,
                          scratch: UnsafeMutablePointer<Float>) {
        let w = parameters.pointer, r = layout.r
        for i in layout.bySite[layer][site.rawValue] {
            let ad = layout.adapters[i]
            LoRA.forwardByRows(out: out + ad.column, ldo: ad.siteWidth, h: scratch, delta: scratch + N * r, inp: inp, a: w + ad.a, b: w + ad.b,
                               N: N, C: ad.inFeatures, OC: ad.outFeatures, R: r, scaling: config.scaling)
        }
    }

    /// A well-mixed seed from two numbers (one SplitMix64 step), so neighbouring passes and
    /// adapters get unrelated masks.
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var rng = SplitMix64(seed: a ^ (b &* 0xD1B5_4A32_D192_ED03))
        return rng.next()
    }
}
