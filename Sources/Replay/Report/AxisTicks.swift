import Foundation

/// Round tick values for an axis (1, 2 or 5 times a power of ten apart), and the range they
/// cover, so that a chart's axis reads 0, 0.5, 1, 1.5 rather than 0.0137, 0.4512, ...
struct AxisTicks: Equatable {
    var low: Double
    var high: Double
    var values: [Double]

    /// Ticks covering `[min, max]`, about `count` of them. A flat range (one value) is widened
    /// around the value so the line sits in the middle of the chart. Both bounds must be finite.
    static func covering(_ min: Double, _ max: Double, count: Int = 5) -> AxisTicks {
        var lo = min, hi = max
        if !(hi > lo) {
            // A flat zero (no clipping, no lag) sits on the floor of a 0...1 axis, not mid-way
            // down an axis with negative ticks; another flat value in the middle.
            if lo == 0 { hi = 1 } else {
                let pad = abs(lo) * 0.1
                lo -= pad
                hi += pad
            }
        }
        let raw = (hi - lo) / Double(Swift.max(1, count - 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(lo / step) * step, last = ceil(hi / step) * step
        var values: [Double] = []
        var v = first
        while v <= last + step * 1e-9, values.count < 50 {
            // Snap to the step's grid, so 0.30000000000000004 is shown as 0.3 and 0 is exactly 0.
            values.append((v / step).rounded() * step)
            v += step
        }
        return AxisTicks(low: first, high: last, values: values)
    }

    /// Ticks of a log axis, in log10 units: each power of ten from below `min` to above `max`,
    /// and 2 and 5 times each when the range spans three decades or fewer.
    static func decades(_ min: Double, _ max: Double) -> AxisTicks {
        let first = floor(min), last = Swift.max(ceil(max), first + 1)
        var values: [Double] = []
        var d = first
        while d <= last, values.count < 50 {
            values.append(d)
            if last - first <= 3, d < last { values += [d + log10(2), d + log10(5)] }
            d += 1
        }
        // Not a whole decade of empty chart above and below the data: start and end at the
        // nearest tick outside it.
        let low = values.last { $0 <= min } ?? first, high = values.first { $0 >= max } ?? last
        return AxisTicks(low: low, high: high, values: values.filter { $0 >= low && $0 <= high })
    }
}
