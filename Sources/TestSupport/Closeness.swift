/// How close two sequences of numbers are, element by element: the comparison every test that
/// checks numbers uses.
///
/// Swift's `max` and `>` skip NaN, so a loop that keeps `max(worst, d)` passes an all-NaN output.
/// Here every element is tested with `!(|a - b| <= tolerance)`, and a NaN or an infinity on either
/// side is a mismatch (even infinity against the same infinity: no engine output should be
/// infinite), which makes the worst absolute and relative differences +infinity. Sequences of
/// different lengths, or empty ones (a comparison of nothing proves nothing), do not pass either.
///
/// Test targets assert `XCTAssertTrue(c.passed, "\(c)")`; the description names the first
/// mismatch, the worst element and how many were off.
public struct Closeness: CustomStringConvertible, Sendable {
    /// What the relative tolerance scales with.
    public enum Scale: Sendable {
        /// |expected|: a reference value is given (transformers, a naive loop).
        case expected
        /// max(|actual|, |expected|): neither side is the reference (a finite-difference check).
        case larger
    }

    /// Elements of `actual` and of `expected`.
    public let actualCount: Int, expectedCount: Int
    /// Elements that missed the tolerance or were not finite.
    public private(set) var mismatches = 0
    /// Elements where either side is NaN or infinite.
    public private(set) var nonFinite = 0
    /// The largest |actual - expected|; +infinity when any element is not finite.
    public private(set) var worstAbsolute = 0.0
    /// The largest |actual - expected| / |expected| (infinity for a difference from 0); +infinity
    /// when any element is not finite.
    public private(set) var worstRelative = 0.0
    /// The largest |actual| or |expected| seen; +infinity when any element is not finite.
    public private(set) var largestMagnitude = 0.0
    /// The first element that missed the tolerance or was not finite.
    public private(set) var firstMismatch: Int?
    /// The element furthest past its tolerance (a non-finite one first).
    public private(set) var worstIndex: Int?
    /// Fails the comparison when no element reaches this magnitude (see `gradients`).
    public private(set) var requiredMagnitude: Double?
    private var firstMismatchText = "", worstText = ""

    /// Compares `actual` with `expected`: element i passes when both are finite and
    /// |actual[i] - expected[i]| <= atol + rtol * scale[i].
    /// - Parameters:
    ///   - label: names element i in the description (e.g. a parameter name and offset).
    public init<A: Collection, E: Collection>(
        _ actual: A, _ expected: E, atol: Double, rtol: Double = 0, relativeTo scale: Scale = .expected,
        label: (Int) -> String = { "element \($0)" }
    ) where A.Element: BinaryFloatingPoint, E.Element: BinaryFloatingPoint {
        actualCount = actual.count
        expectedCount = expected.count
        var worstExcess = -Double.infinity
        for (i, (x, y)) in zip(actual, expected).enumerated() {
            let a = Double(x), b = Double(y)
            let finite = a.isFinite && b.isFinite
            let difference = abs(a - b)
            let size = Swift.max(abs(a), abs(b))
            let allowed = atol + rtol * (scale == .expected ? abs(b) : size)
            let excess = finite ? difference - allowed : .infinity
            if !finite {
                nonFinite += 1
                worstAbsolute = .infinity
                worstRelative = .infinity
                largestMagnitude = .infinity
            } else {
                if difference > worstAbsolute { worstAbsolute = difference }
                let relative = difference == 0 ? 0 : difference / abs(b)
                if relative > worstRelative { worstRelative = relative }
                if size > largestMagnitude { largestMagnitude = size }
            }
            // `!(<=)`: a NaN tolerance (a NaN expected value with rtol > 0) fails too.
            if !finite || !(difference <= allowed) {
                mismatches += 1
                if firstMismatch == nil {
                    firstMismatch = i
                    firstMismatchText = "\(label(i)): \(a) vs \(b)"
                }
            }
            if worstIndex == nil || excess > worstExcess {
                worstExcess = excess
                worstIndex = i
                worstText = "\(label(i)): \(a) vs \(b)"
            }
        }
    }

    /// A finite-difference gradient check: `analytic` against `numeric` within
    /// atol + rtol * max(|analytic|, |numeric|), and failing when every gradient on both sides is
    /// below `zeroBelow` -- all zero means a broken backward or a loss that does not depend on the
    /// parameters, which a tolerance alone would pass.
    public static func gradients<A: Collection, N: Collection>(
        analytic: A, numeric: N, atol: Double, rtol: Double, zeroBelow: Double = 1e-4,
        label: (Int) -> String = { "element \($0)" }
    ) -> Closeness where A.Element: BinaryFloatingPoint, N.Element: BinaryFloatingPoint {
        var c = Closeness(analytic, numeric, atol: atol, rtol: rtol, relativeTo: .larger, label: label)
        c.requiredMagnitude = zeroBelow
        return c
    }

    /// Same lengths, something compared, every element within tolerance and finite, and (for
    /// gradients) not all zero.
    public var passed: Bool {
        actualCount == expectedCount && actualCount > 0 && mismatches == 0
            && requiredMagnitude.map { largestMagnitude >= $0 } ?? true
    }

    public var description: String {
        var parts: [String] = []
        if actualCount != expectedCount { parts.append("lengths differ: \(actualCount) vs \(expectedCount)") }
        if actualCount == 0 || expectedCount == 0 { parts.append("nothing compared") }
        if mismatches > 0 {
            parts.append("\(mismatches) of \(Swift.min(actualCount, expectedCount)) off, first \(firstMismatchText)")
        }
        if nonFinite > 0 { parts.append("\(nonFinite) not finite") }
        if let required = requiredMagnitude, !(largestMagnitude >= required) {
            parts.append("every value is below \(required) (all zero: a broken backward or a loss that ignores the parameters?)")
        }
        parts.append("worst \(worstText), absolute \(worstAbsolute), relative \(worstRelative)")
        return (passed ? "close: " : "NOT close: ") + parts.joined(separator: "; ")
    }

    /// The largest |value| of `values`, +infinity when any is NaN or infinite (a NaN-proof
    /// `values.map(abs).max()`); 0 for none.
    public static func largestMagnitude<C: Collection>(_ values: C) -> Double where C.Element: BinaryFloatingPoint {
        var largest = 0.0
        for v in values {
            let m = abs(Double(v))
            guard m.isFinite else { return .infinity }
            if m > largest { largest = m }
        }
        return largest
    }
}
