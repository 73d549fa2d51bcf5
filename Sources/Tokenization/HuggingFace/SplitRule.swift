/// What a Split pre-tokenizer looks for: one of the known regexes, or a literal string.
enum SplitRule: Sendable {
    case pattern(SplitPattern)
    case literal([UInt8])

    /// The text cut into back-to-back spans, each flagged as a match or as the gap between two.
    func matches(_ text: ArraySlice<UInt8>) -> [(Range<Int>, Bool)] {
        var spans: [(Range<Int>, Bool)] = []
        switch self {
        case .pattern(let pattern):
            text.withUnsafeBufferPointer { buffer in
                var start = 0
                pattern.forEachMatchEnd(UTF8Scanner(bytes: buffer)) { end in
                    spans.append((text.startIndex + start ..< text.startIndex + end, true))
                    start = end
                }
            }
        case .literal(let needle):
            var gapStart = text.startIndex, i = text.startIndex
            while i + needle.count <= text.endIndex {
                if text[i ..< i + needle.count].elementsEqual(needle) {
                    if gapStart < i { spans.append((gapStart ..< i, false)) }
                    spans.append((i ..< i + needle.count, true))
                    i += needle.count
                    gapStart = i
                } else {
                    i += 1
                }
            }
            if gapStart < text.endIndex { spans.append((gapStart ..< text.endIndex, false)) }
        }
        return spans
    }

    /// Every number scalar (`\p{N}`, as Rust's `char::is_numeric`) as a match of its own, with the
    /// runs between them as gaps: what the Digits pre-tokenizer splits on.
    static func numberMatches(_ text: ArraySlice<UInt8>) -> [(Range<Int>, Bool)] {
        var spans: [(Range<Int>, Bool)] = []
        text.withUnsafeBufferPointer { buffer in
            let t = UTF8Scanner(bytes: buffer)
            var gapStart = 0, i = 0
            while i < t.count {
                let (c, n) = t.classAt(i)
                if c == .number {
                    if gapStart < i { spans.append((text.startIndex + gapStart ..< text.startIndex + i, false)) }
                    spans.append((text.startIndex + i ..< text.startIndex + i + n, true))
                    gapStart = i + n
                }
                i += n
            }
            if gapStart < t.count { spans.append((text.startIndex + gapStart ..< text.endIndex, false)) }
        }
        return spans
    }
}

/// What becomes of the matches of a split, as the `tokenizers` library defines its
/// `SplitDelimiterBehavior`.
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Appends the pieces that `spans` (back-to-back over `text`) give to `out`; empty pieces are dropped.
    func apply(_ spans: [(Range<Int>, Bool)], invert: Bool, in text: ArraySlice<UInt8>, into out: inout [ArraySlice<UInt8>]) {
        var merged: [(Range<Int>, Bool)] = []
        merged.reserveCapacity(spans.count)
        switch self {
        case .removed, .isolated:
            merged = spans.map { ($0.0, $0.1 != invert) }
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, m) in spans {
                let isMatch = m != invert
                if isMatch && !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = (last.0.lowerBound ..< range.upperBound, last.1)
                } else {
                    merged.append((range, isMatch))
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (range, m) in spans.reversed() {
                let isMatch = m != invert
                if isMatch && !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = (range.lowerBound ..< last.0.upperBound, last.1)
                } else {
                    merged.append((range, isMatch))
                }
                previousMatch = isMatch
            }
            merged.reverse()
        case .contiguous:
            var previousMatch = false
            for (range, m) in spans {
                let isMatch = m != invert
                if isMatch == previousMatch, let last = merged.last {
                    merged[merged.count - 1] = (last.0.lowerBound ..< range.upperBound, isMatch)
                } else {
                    merged.append((range, isMatch))
                }
                previousMatch = isMatch
            }
        }
        for (range, isMatch) in merged where !range.isEmpty {
            if self == .removed && isMatch { continue }
            out.append(text[range])
        }
    }
}
