import Foundation

/// The characters of a training corpus counted the way SentencePiece's trainer (0.1.97) counts
/// them, so that the vocabulary a corpus needs can be told before training rather than after.
///
/// SentencePiece reads lines (split at "\n" only, so a "\r" is a character), skips empty lines and
/// lines longer than `max_sentence_length` bytes, and stops after `input_sentence_size` lines. It
/// removes the text of its own meta pieces (`<unk>`, `<s>`, `</s>`, `<pad>`, `<0x00>`...`<0xFF>`),
/// counts a space as "▁" (U+2581), and counts neither tabs nor NUL. An invalid UTF-8 byte counts
/// as U+FFFD. Each of these was checked against the library's own "N vs M" report.
public struct CorpusAlphabet: Sendable {
    /// How often each distinct character occurs, most frequent first.
    public let frequencies: [Int]
    /// Characters counted in all (the sum of `frequencies`).
    public let total: Int

    /// Counts the characters of `files` as a trainer reading at most `maxSentences` lines of at
    /// most `maxSentenceBytes` bytes each would see them.
    public init(files: [String], maxSentences: Int, maxSentenceBytes: Int) throws {
        // One counter per code point (9 MB): faster than a dictionary on a large CJK corpus.
        var counts = [Int](repeating: 0, count: 0x110000)
        var sentences = 0
        files: for file in files {
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw TokenizerError("\(file): cannot be read")
            }
            defer { try? handle.close() }
            var reader = LineReader(handle: handle, maxLineBytes: maxSentenceBytes)
            while let line = try reader.next(file: file) {
                // Too-long lines (nil content) and empty lines are skipped and not counted toward the cap.
                guard let bytes = line, !bytes.isEmpty else { continue }
                Self.count(bytes, into: &counts)
                sentences += 1
                if sentences >= maxSentences { break files }
            }
        }
        frequencies = counts.filter { $0 > 0 }.sorted(by: >)
        total = frequencies.reduce(0, +)
    }

    /// How many distinct characters SentencePiece keeps as pieces at `coverage`: the most frequent
    /// ones, until their share of all characters reaches `coverage`. The share is compared in
    /// single precision, as SentencePiece compares it, and `coverage` is parsed from the same text
    /// the trainer receives.
    public func keptCharacters(coverage: Double) -> Int {
        let target = Float(Self.flagText(coverage)) ?? Float(coverage)
        var accumulated = 0
        for (i, f) in frequencies.enumerated() {
            if Float(Double(accumulated) / Double(total)) >= target { return i }
            accumulated += f
        }
        return frequencies.count
    }

    /// The highest coverage (to four decimals, rounded down) at which at most `characters`
    /// characters are kept, or nil when even that coverage would be 0.
    public func coverage(keepingAtMost characters: Int) -> Double? {
        guard characters > 0, total > 0 else { return nil }
        if characters >= frequencies.count { return 1 }
        let share = Double(frequencies.prefix(characters).reduce(0, +)) / Double(total)
        let rounded = (share * 10_000).rounded(.down) / 10_000
        return rounded > 0 ? rounded : nil
    }

    /// A coverage as it is written in SentencePiece's flags and in our messages.
    static func flagText(_ coverage: Double) -> String {
        coverage == 1 ? "1.0" : "\(coverage)"
    }

    private static let space = UInt32(0x2581)

    /// Counts the characters of one line, without the text of meta pieces.
    private static func count(_ bytes: [UInt8], into counts: inout [Int]) {
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "<"), let length = metaPieceLength(bytes, at: i) {
                i += length
                continue
            }
            let (scalar, length) = decodeScalar(bytes, at: i)
            i += length
            switch scalar {
            case 0x00, 0x09: continue
            case 0x20: counts[Int(space)] += 1
            default: counts[Int(scalar)] += 1
            }
        }
    }

    /// The length of the meta piece starting at `i` (`<unk>`, `<s>`, `</s>`, `<pad>`, `<0xHH>` with
    /// upper-case hex digits, as byte pieces are spelled), or nil.
    private static func metaPieceLength(_ b: [UInt8], at i: Int) -> Int? {
        func matches(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= b.count && Array(b[i..<(i + u.count)]) == u
        }
        for piece in ["<unk>", "<s>", "</s>", "<pad>"] where matches(piece) { return piece.utf8.count }
        func isHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) }
        if matches("<0x"), i + 6 <= b.count, isHex(b[i + 3]), isHex(b[i + 4]), b[i + 5] == UInt8(ascii: ">") {
            return 6
        }
        return nil
    }

    /// One UTF-8 scalar at `i`; an invalid sequence is U+FFFD and one byte, as SentencePiece reads it.
    private static func decodeScalar(_ b: [UInt8], at i: Int) -> (UInt32, Int) {
        let lead = b[i]
        let (length, initial, minimum): (Int, UInt32, UInt32) =
            lead < 0x80 ? (1, UInt32(lead), 0)
            : lead & 0xE0 == 0xC0 ? (2, UInt32(lead & 0x1F), 0x80)
            : lead & 0xF0 == 0xE0 ? (3, UInt32(lead & 0x0F), 0x800)
            : lead & 0xF8 == 0xF0 ? (4, UInt32(lead & 0x07), 0x10000)
            : (0, 0, 0)
        guard length > 0, i + length <= b.count else { return (0xFFFD, 1) }
        var scalar = initial
        for k in 1..<length {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return (0xFFFD, 1) }
        return (scalar, length)
    }
}

/// Lines of a file read in chunks, so a corpus of any size is counted in bounded memory. A line
/// longer than `maxLineBytes` comes back as `.some(nil)`: skipped without being held whole.
private struct LineReader {
    let handle: FileHandle
    let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var skippingLongLine = false

    init(handle: FileHandle, maxLineBytes: Int) {
        self.handle = handle
        self.maxLineBytes = maxLineBytes
    }

    /// The next line: nil at the end of the file, `.some(nil)` for a line that is too long.
    mutating func next(file: String) throws -> [UInt8]?? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                if skippingLongLine || line.count > maxLineBytes {
                    skippingLongLine = false
                    return .some(nil)
                }
                return .some(line)
            }
            if atEnd {
                guard start < buffer.count || skippingLongLine else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                if skippingLongLine || line.count > maxLineBytes {
                    skippingLongLine = false
                    return .some(nil)
                }
                return .some(line)
            }
            // Keep only the unfinished line; drop it once it is known to be too long.
            buffer.removeFirst(start)
            start = 0
            if buffer.count > maxLineBytes {
                buffer.removeAll(keepingCapacity: true)
                skippingLongLine = true
            }
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw TokenizerError("\(file): read failed: \(error.localizedDescription)")
            }
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
