/// Where each token of a packed (B, T) batch sits: its rotary position, and the keys before it
/// that it must not see.
///
/// A packed row holds several sequences that share a prompt: the prompt once, then each answer
/// as a branch that attends to the prompt and to itself, not to the branches before it. Every
/// token then computes what it would in its own unpacked row (up to float rounding), and the
/// prompt's tokens are run once instead of once per answer. A GRPO group of 8 answers of about 5
/// tokens to a 26-token prompt is 73 positions packed against 8 x 31 unpacked.
public struct PackedLayout: Sendable, Equatable {
    /// (B, T) rotary position of each token: its position in its own unpacked sequence.
    public var positions: [Int32]
    /// (B, T, 2): the keys of its own row that the token at (b, t) does not see, as a range
    /// `[gaps[2n], gaps[2n + 1])` of positions in the row; empty (equal ends) hides nothing.
    public var gaps: [Int32]

    public init(positions: [Int32], gaps: [Int32]) {
        precondition(gaps.count == 2 * positions.count, "two gap ends per token")
        self.positions = positions
        self.gaps = gaps
    }

    /// Rows `rows` of a layout of rows of `T` positions.
    public func rows(_ rows: Range<Int>, T: Int) -> PackedLayout {
        PackedLayout(positions: Array(positions[rows.lowerBound * T..<rows.upperBound * T]),
                     gaps: Array(gaps[2 * rows.lowerBound * T..<2 * rows.upperBound * T]))
    }

    /// Checks the layout against a (B, T) batch for a model of `maxPositions` positions: every
    /// position inside the rotary table, every gap inside its row and before its token.
    public func validate(B: Int, T: Int, maxPositions: Int) {
        precondition(positions.count == B * T, "a packed layout of \(positions.count) tokens for a (\(B), \(T)) batch")
        for n in 0..<B * T {
            precondition(positions[n] >= 0 && Int(positions[n]) < maxPositions,
                         "packed position \(positions[n]) outside the model's \(maxPositions)")
            let t = Int32(n % T)
            precondition(gaps[2 * n] >= 0 && gaps[2 * n] <= gaps[2 * n + 1] && gaps[2 * n + 1] <= t,
                         "a packed token's hidden keys must come before it")
        }
    }
}

extension Optional where Wrapped == [Int32] {
    /// Runs `body` with a pointer to the array's elements, or nil when there is no array.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Int32>?) throws -> R) rethrows -> R {
        guard let array = self else { return try body(nil) }
        return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
