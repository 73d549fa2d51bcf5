/// GPT-2's byte-to-character table: every byte stands for a printable character, so that any
/// byte string is a string of visible characters and BPE never sees whitespace or control bytes.
///
/// The printable bytes `!`...`~`, `¡`...`¬` and `®`...`ÿ` stand for themselves; the other 68
/// bytes, in increasing order, take U+0100, U+0101, ... (space becomes `Ġ`, newline `Ċ`).
enum ByteLevelAlphabet {
    /// The character of each byte.
    static let scalarOfByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte a character stands for, or nil for characters outside the alphabet.
    static func byte(of scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        if v < 256 {
            let b = Int(v)
            return (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) ? UInt8(b) : nil
        }
        return byteOfHighScalar[Int(v) - 256]
    }

    /// Bytes mapped to U+0100... in order; indexed by scalar - 256.
    private static let byteOfHighScalar: [Int: UInt8] = {
        var map: [Int: UInt8] = [:]
        for b in 0..<256 where scalarOfByte[b].value >= 256 { map[Int(scalarOfByte[b].value) - 256] = UInt8(b) }
        return map
    }()

    /// Bytes as alphabet characters, as UTF-8 (what a byte-level vocabulary's keys are made of).
    static func encode<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes { out.append(contentsOf: utf8OfByte[Int(b)]) }
        return out
    }

    /// The UTF-8 of each byte's character.
    static let utf8OfByte: [[UInt8]] = scalarOfByte.map { Array(String(Character($0)).utf8) }

    /// The bytes a token stands for, when every character of it is in the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = byte(of: s) else { return nil }
            out.append(b)
        }
        return out
    }
}
