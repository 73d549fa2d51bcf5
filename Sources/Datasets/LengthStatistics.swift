/// Summary of a list of lengths: min, mean, median, 95th percentile, max.
public struct LengthStatistics: Sendable, Equatable, CustomStringConvertible {
    public let count: Int
    public let min: Int
    public let mean: Double
    /// Median (nearest rank).
    public let p50: Int
    /// 95th percentile (nearest rank): 95% of the lengths are at most this.
    public let p95: Int
    public let max: Int

    /// Nil for no values.
    public init?(_ values: [Int]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func percentile(_ p: Double) -> Int {
            sorted[Swift.max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)]
        }
        count = sorted.count
        min = sorted.first!
        max = sorted.last!
        mean = Double(sorted.reduce(0, +)) / Double(sorted.count)
        p50 = percentile(50)
        p95 = percentile(95)
    }

    public var description: String {
        "min \(min), mean \(String(format1: mean)), p50 \(p50), p95 \(p95), max \(max)"
    }
}

extension String {
    /// `x` with one decimal.
    init(format1 x: Double) {
        let tenths = Int((x * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
