import Model

/// Central differences over a flat parameter block, against the gradient a backward pass wrote:
/// the check every model-level gradient test runs (whole model, LoRA adapters, score head).
public enum BlockGradientCheck {
    /// The sampled entries compared (`Closeness.gradients`), with a summary for messages.
    public struct Result: CustomStringConvertible, Sendable {
        /// Analytic against numeric over every sampled entry.
        public var closeness: Closeness
        /// Sampled entries whose analytic gradient is not (nearly) zero.
        public var nonZero = 0
        /// Every sampled entry within tolerance, all finite, and not every gradient zero.
        public var passed: Bool { closeness.passed }
        /// <= 0 when `passed`; +infinity otherwise (kept for `XCTAssertLessThanOrEqual(excess, 0)`).
        public var excess: Double { passed ? 0 : .infinity }
        public var description: String { "\(closeness); \(nonZero) non-zero" }
    }

    /// Samples about `perTensor` entries of every tensor in `entries`, moves each by ±eps in
    /// `values` and compares (loss(+) - loss(-)) / 2 eps with `analytic`, within
    /// 2e-3 + 3e-2 * max(|numeric|, |analytic|) (float32 through a whole model). Fails on any NaN
    /// or infinity, and when every sampled gradient is zero.
    public static func compare(
        entries: [ParameterLayout.Entry], values: UnsafeMutablePointer<Float>, analytic: [Float],
        perTensor: Int = 6, eps: Float = 2e-3, loss: () -> Double
    ) -> Result {
        var names: [String] = [], numeric: [Double] = [], sampled: [Double] = []
        for e in entries {
            for k in stride(from: 0, to: e.count, by: max(1, e.count / perTensor)) {
                let i = e.offset + k, original = values[i]
                values[i] = original + eps
                let up = loss()
                values[i] = original - eps
                let down = loss()
                values[i] = original
                numeric.append((up - down) / Double(2 * eps))
                sampled.append(Double(analytic[i]))
                names.append("\(e.name)[\(k)]")
            }
        }
        let closeness = Closeness.gradients(analytic: sampled, numeric: numeric, atol: 2e-3, rtol: 3e-2) { names[$0] }
        return Result(closeness: closeness, nonZero: sampled.filter { abs($0) > 1e-4 }.count)
    }
}
