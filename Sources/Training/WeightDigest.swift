import Model

/// A 64-bit fingerprint of one tensor's bits, so a replay can say which tensor of a trained
/// model differs from the recorded one without storing the weights of every iteration.
public struct TensorDigest: Sendable, Equatable {
    public var name: String
    public var value: UInt64

    public init(name: String, value: UInt64) {
        self.name = name
        self.value = value
    }

    /// The digest as 16 hex digits (JSON numbers cannot hold every UInt64 exactly).
    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Digests of the trainable tensors of a model, in the layout's order.
///
/// FNV-1a over 64-bit words (two floats at a time) rather than a cryptographic hash: it guards
/// against accidents (a replay that drifted by one bit), not against an adversary, and it costs
/// about a millisecond per million parameters, so the trainers can afford it after every update.
public enum WeightDigest {
    public static func of(_ trainable: any TrainableParameters) -> [TensorDigest] {
        let values = trainable.values
        return trainable.tensors.map { entry in
            TensorDigest(name: entry.name, value: digest(values.pointer + entry.offset, count: entry.count))
        }
    }

    /// FNV-1a of the bits of `count` floats.
    public static func digest(_ p: UnsafePointer<Float>, count: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01B3
        let words = count / 2
        p.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
            for i in 0..<words {
                let w = UInt64(bits[2 * i]) | (UInt64(bits[2 * i + 1]) << 32)
                h = (h ^ w) &* prime
            }
            if count % 2 == 1 { h = (h ^ UInt64(bits[count - 1])) &* prime }
        }
        return (h ^ UInt64(count)) &* prime
    }
}
