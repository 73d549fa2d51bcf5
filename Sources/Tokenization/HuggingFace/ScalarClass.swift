/// The character classes the split patterns are written in, for one Unicode scalar.
///
/// `\p{L}` is the general categories Lu Ll Lt Lm Lo, `\p{N}` is Nd Nl No, and `\s` is
/// Oniguruma's (the regex engine `tokenizers` uses): U+0009...U+000D, U+0085 and the
/// separators Zs, Zl, Zp. `\r` and `\n` are whitespace too, but the Llama 3 pattern names them
/// apart, so they get their own class.
enum ScalarClass: UInt8 {
    case letter, number, space, newline, other

    var isWhitespace: Bool { self == .space || self == .newline }

    /// Classes of the ASCII range, looked up instead of asking the Unicode tables.
    static let ascii: [ScalarClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    static func classify(_ s: Unicode.Scalar) -> ScalarClass {
        switch s.value {
        case 0x0A, 0x0D: return .newline
        case 0x09, 0x0B, 0x0C, 0x85: return .space
        default: break
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: return .space
        default: return .other
        }
    }
}

/// Reads UTF-8 (known valid: it comes from a Swift `String`) one scalar at a time.
struct UTF8Scanner {
    let bytes: UnsafeBufferPointer<UInt8>

    var count: Int { bytes.count }

    /// The scalar starting at `i` and its length in bytes.
    @inline(__always)
    func scalar(at i: Int) -> (Unicode.Scalar, Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (Unicode.Scalar(UInt8(b0)), 1) }
        if b0 < 0xE0 {
            let v = (b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
            return (Unicode.Scalar(v)!, 2)
        }
        if b0 < 0xF0 {
            let v = (b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
            return (Unicode.Scalar(v) ?? "\u{FFFD}", 3)
        }
        let v = (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F)
        return (Unicode.Scalar(v) ?? "\u{FFFD}", 4)
    }

    /// The class of the scalar at `i` and its length in bytes.
    @inline(__always)
    func classAt(_ i: Int) -> (ScalarClass, Int) {
        let b = bytes[i]
        if b < 0x80 { return (ScalarClass.ascii[Int(b)], 1) }
        let (s, n) = scalar(at: i)
        return (ScalarClass.classify(s), n)
    }

    /// The end of the run of scalars of class `c` starting at `i` (i itself when there is none).
    @inline(__always)
    func skip(_ c: ScalarClass, from i: Int) -> Int {
        var j = i
        while j < bytes.count {
            let (k, n) = classAt(j)
            if k != c { break }
            j += n
        }
        return j
    }
}
