/// The sequence numbers one connection has used, so a server refuses a message sent again: the
/// highest number seen and a bitmap of the `size` numbers below it (the anti-replay window of
/// IPsec, RFC 4303 section 3.4.3). A number above the highest moves the window up; one inside
/// it passes once; one below it is too old to tell and is refused.
///
/// A window rather than "above the last one": a client stamps a request's number on the calling
/// thread and its I/O thread sends it later, so two requests made at once can go out in the
/// other order. They are never `size` apart.
public struct SequenceWindow: Sendable {
    /// Numbers tracked below the highest.
    public static let size = 1024
    private static let words = size / 64

    private var highest: UInt64?
    /// Bit `age` (word age / 64, bit age % 64) set: `highest - age` was seen.
    private var seen = [UInt64](repeating: 0, count: SequenceWindow.words)

    public init() {}

    /// Whether `sequence` is new on this connection; records it when it is.
    public mutating func accept(_ sequence: UInt64) -> Bool {
        guard let top = highest else {
            highest = sequence
            mark(age: 0)
            return true
        }
        if sequence > top {
            shift(by: sequence - top)
            highest = sequence
            mark(age: 0)
            return true
        }
        let age = top - sequence
        guard age < UInt64(Self.size) else { return false }
        let i = Int(age)
        if seen[i / 64] & (1 << UInt64(i % 64)) != 0 { return false }
        mark(age: i)
        return true
    }

    private mutating func mark(age: Int) { seen[age / 64] |= 1 << UInt64(age % 64) }

    /// Ages every recorded number by `n` (bits move towards higher ages; those past the window drop).
    private mutating func shift(by n: UInt64) {
        guard n < UInt64(Self.size) else {
            seen = [UInt64](repeating: 0, count: Self.words)
            return
        }
        let wordShift = Int(n / 64), bitShift = UInt64(n % 64)
        for w in stride(from: Self.words - 1, through: 0, by: -1) {
            let from = w - wordShift
            var value: UInt64 = from >= 0 ? seen[from] << bitShift : 0
            if bitShift > 0, from - 1 >= 0 { value |= seen[from - 1] >> (64 - bitShift) }
            seen[w] = value
        }
    }
}
