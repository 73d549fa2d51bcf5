/// An open-addressing hash table from a pair of token ids to its merge (rank and merged id).
///
/// The merge loop asks it for every adjacent pair of every new word, so it is a flat array with
/// a multiplicative hash and linear probing rather than a `Dictionary` (whose SipHash costs more
/// than the rest of a lookup).
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Sets the merge of (a, b); a later merge of the same pair replaces an earlier one, as in the Rust reader.
    mutating func set(_ a: Int32, _ b: Int32, rank: Int32, merged: Int32) {
        let k = Self.key(a, b)
        var i = slot(k)
        while keys[i] != Self.empty && keys[i] != k { i = (i + 1) & mask }
        keys[i] = k
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    /// The merge of (a, b): rank in the high half, merged id in the low half; nil when none.
    @inline(__always)
    func get(_ a: Int32, _ b: Int32) -> UInt64? {
        let k = Self.key(a, b)
        var i = slot(k)
        while true {
            let found = keys[i]
            if found == k { return values[i] }
            if found == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }
}

/// UTF-8 bytes as a dictionary key, hashed in one call (an `Array`'s own hashing feeds the
/// hasher byte by byte) and compared byte for byte (a `String` key would equate canonically
/// equivalent spellings, which are different tokens).
struct ByteKey: Hashable, Sendable {
    /// A slice, so that a lookup can borrow a word out of its text without copying; keys that are
    /// stored own their bytes (`init(_:)` copies), so they do not keep a whole text alive.
    private(set) var bytes: ArraySlice<UInt8>

    /// A key owning a copy of `bytes`.
    init<S: Sequence>(_ bytes: S) where S.Element == UInt8 { self.bytes = ArraySlice(Array(bytes)) }

    /// A key for a lookup, sharing the storage of `slice`.
    init(borrowing slice: ArraySlice<UInt8>) { bytes = slice }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: ByteKey, b: ByteKey) -> Bool {
        a.bytes.count == b.bytes.count && a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in x.elementsEqual(y) } }
    }
}
