import Model

/// Central differences over a flat parameter block, against the gradient a backward pass wrote:
/// the check every model-level gradient test runs (whole model, LoRA adapters, score head).
public enum BlockGradientCheck {
    /// The entry that missed its tolerance by the most (or came closest).
    public struct Result: CustomStringConvertible {
        /// How far past the tolerance the worst entry was; <= 0 means every entry passed.
        public var excess = -1.0
        public var name = ""
        public var numeric = 0.0
        public var analytic = 0.0
        /// Sampled entries whose analytic gradient is not (nearly) zero.
        public var nonZero = 0
        public var description: String { "worst: \(name) numeric \(numeric) analytic \(analytic)" }
    }

    /// Samples about `perTensor` entries of every tensor in `entries`, moves each by ±eps in
    /// `values` and compares (loss(+) - loss(-)) / 2 eps with `analytic`, within
    /// 2e-3 + 3e-2 * max(|numeric|, |analytic|) (float32 through a whole model).
    public static func compare(
        entries: [ParameterLayout.Entry], values: UnsafeMutablePointer<Float>, analytic: [Float],
        perTensor: Int = 6, eps: Float = 2e-3, loss: () -> Double
    ) -> Result {
        var worst = Result()
        for e in entries {
            for k in stride(from: 0, to: e.count, by: max(1, e.count / perTensor)) {
                let i = e.offset + k, original = values[i]
                values[i] = original + eps
                let up = loss()
                values[i] = original - eps
                let down = loss()
                values[i] = original
                let numeric = (up - down) / Double(2 * eps)
                let a = Double(analytic[i])
                if abs(a) > 1e-4 { worst.nonZero += 1 }
                let excess = abs(numeric - a) - (2e-3 + 3e-2 * max(abs(a), abs(numeric)))
                if excess > worst.excess {
                    worst.excess = excess
                    worst.name = "\(e.name)[\(k)]"
                    worst.numeric = numeric
                    worst.analytic = a
                }
            }
        }
        return worst
    }
}
