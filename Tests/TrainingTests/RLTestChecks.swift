import XCTest

/// Comparisons for the RL math tests: every entry within `rel * |expected| + abs`, written so a
/// NaN or an infinity fails; on failure the message gives the count, the first mismatch and the
/// worst one.
enum RLChecks {
    /// The entries of `actual` that miss `expected`, described; empty when all match.
    static func mismatches(_ actual: [Double], _ expected: [Double], rel: Double, abs absTol: Double) -> [String] {
        guard actual.count == expected.count else { return ["\(actual.count) values, expected \(expected.count)"] }
        var out: [String] = []
        var worst = (index: -1, excess: -Double.infinity)
        for i in actual.indices {
            let tol = rel * abs(expected[i]) + absTol
            let d = abs(actual[i] - expected[i])
            if !(d <= tol) {
                out.append("[\(i)] \(actual[i]) expected \(expected[i])")
                let excess = d.isNaN ? .infinity : d - tol
                if excess > worst.excess || worst.index < 0 { worst = (i, excess) }
            }
        }
        if !out.isEmpty, worst.index >= 0 {
            out.append("worst [\(worst.index)] \(actual[worst.index]) expected \(expected[worst.index])")
        }
        return out
    }

    static func assertClose(
        _ actual: [Float], _ expected: [Double], rel: Double = 1e-6, abs absTol: Double = 1e-9, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertClose(actual.map(Double.init), expected, rel: rel, abs: absTol, what, file: file, line: line)
    }

    static func assertClose(
        _ actual: [Double], _ expected: [Double], rel: Double = 1e-6, abs absTol: Double = 1e-9, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let bad = mismatches(actual, expected, rel: rel, abs: absTol)
        if !bad.isEmpty {
            XCTFail("\(what): \(bad.count - 1) mismatches, first \(bad[0]), \(bad.last!)", file: file, line: line)
        }
    }

    static func assertClose(
        _ actual: Double, _ expected: Double, rel: Double = 1e-6, abs absTol: Double = 1e-12, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertClose([actual], [expected], rel: rel, abs: absTol, what, file: file, line: line)
    }

    // MARK: - Gradient checks

    /// Central differences of `f` at `x`, one entry at a time, dividing by the step actually taken
    /// in Float.
    static func centralDifferences(_ x: [Float], h: Float = 5e-4, _ f: ([Float]) -> Double) -> [Double] {
        x.indices.map { i in
            var plus = x, minus = x
            plus[i] += h
            minus[i] -= h
            return (f(plus) - f(minus)) / (Double(plus[i]) - Double(minus[i]))
        }
    }

    /// What is wrong with an analytic gradient against a numeric one: mismatching entries (NaN
    /// included), or a check that proves nothing because either gradient is zero everywhere.
    static func gradientProblems(analytic: [Float], numeric: [Double], rel: Double, abs absTol: Double) -> [String] {
        var problems = mismatches(analytic.map(Double.init), numeric, rel: rel, abs: absTol)
        if !numeric.contains(where: { abs($0) > 1e-6 }) { problems.append("the numeric gradient is zero everywhere") }
        if !analytic.contains(where: { abs($0) > 1e-6 }) { problems.append("the analytic gradient is zero everywhere") }
        return problems
    }

    static func assertGradient(
        _ analytic: [Float], _ numeric: [Double], rel: Double, abs absTol: Double, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let problems = gradientProblems(analytic: analytic, numeric: numeric, rel: rel, abs: absTol)
        if !problems.isEmpty { XCTFail("\(what): \(problems.joined(separator: "; "))", file: file, line: line) }
    }
}
