import CKernels
import Foundation
import Tensor

/// AdamW with decoupled weight decay (Loshchilov & Hutter, arXiv 1711.05101, Algorithm 2), in
/// PyTorch's formulation (torch.optim.AdamW), over a flat parameter block.
///
/// Weight decay applies only to the entries the layout marks as decaying (matrices and
/// embeddings), never to norms or biases, as is usual for transformers.
public final class AdamW {
    public struct Hyperparameters: Codable, Sendable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var eps: Float = 1e-8
        public var weightDecay: Float = 0.0
        public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.0) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.weightDecay = weightDecay
        }
    }

    public var hyperparameters: Hyperparameters
    /// First and second moments, in the parameter layout.
    public let m: FloatBuffer
    public let v: FloatBuffer
    /// Updates taken so far (bias correction uses it).
    public var step: Int = 0
    /// (start, count, decays) ranges of the block.
    let ranges: [(Int, Int, Bool)]

    public convenience init(layout: ParameterLayout, hyperparameters: Hyperparameters = .init()) {
        self.init(count: layout.count, entries: layout.entries, hyperparameters: hyperparameters)
    }

    /// An optimizer over any flat block of `count` floats cut into `entries` (the model's
    /// parameters, or a LoRA adapter block).
    public init(count: Int, entries: [ParameterLayout.Entry], hyperparameters: Hyperparameters = .init()) {
        self.hyperparameters = hyperparameters
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: count)
        ranges = entries.map { ($0.offset, $0.count, $0.decays) }
    }

    /// One update of `parameters` from `gradients` at learning rate `lr`, split over
    /// `context`'s threads (element-wise, so the bits do not depend on the split).
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, lr: Float, context: ComputeContext = .current) {
        context.run { updateOnCurrentContext(parameters: parameters, gradients: gradients, lr: lr) }
    }

    private func updateOnCurrentContext(parameters: FloatBuffer, gradients: FloatBuffer, lr: Float) {
        step += 1
        let h = hyperparameters
        let bc1 = 1 - powf(h.beta1, Float(step))
        let bc2 = 1 - powf(h.beta2, Float(step))
        let stepSize = lr / bc1
        let bc2Sqrt = bc2.squareRoot()
        let p = parameters.pointer, g = gradients.pointer, m = m.pointer, v = v.pointer
        for (start, count, decays) in ranges {
            let decay: Float = decays ? 1 - lr * h.weightDecay : 1
            // Element-wise, so splitting a tensor between threads cannot change the result.
            Parallel.forChunks(count, minChunk: 1 << 14) { r in
                let o = start + r.lowerBound
                rk_adamw(p + o, g + o, m + o, v + o, r.count, decay, h.beta1, h.beta2, stepSize, bc2Sqrt, h.eps)
            }
        }
    }
}

/// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_.
public enum GradientClipping {
    /// The L2 norm of all gradients (accumulated in Double, in a fixed order).
    public static func globalNorm(_ g: FloatBuffer) -> Float {
        var s = 0.0
        let p = g.pointer
        for i in 0..<g.count { s += Double(p[i]) * Double(p[i]) }
        return Float(s.squareRoot())
    }

    /// Scales gradients so their global norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public static func clip(_ g: FloatBuffer, maxNorm: Float) -> Float {
        let norm = globalNorm(g)
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 {
            let p = g.pointer
            for i in 0..<g.count { p[i] *= coef }
        }
        return norm
    }
}
