/// The `model` of a `tokenizer.json` when it is BPE: the vocabulary, the merges by rank, and
/// how a word that the merges cannot cover is spelled (unknown token, byte fallback).
struct BPEModel: Sendable {
    /// Token (UTF-8) to id.
    let vocab: [ByteKey: Int32]
    /// Token of each id, nil for ids the vocabulary skips.
    let tokens: [String?]
    let merges: PairTable
    let unkID: Int32?
    let continuingSubwordPrefix: [UInt8]?
    let endOfWordSuffix: [UInt8]?
    let fuseUnk: Bool
    let byteFallback: Bool
    /// A word that is itself a token skips the merges (Llama 3 sets this).
    let ignoreMerges: Bool
    /// The id of `<0xNN>` for each byte, or -1 (byte fallback).
    let byteTokenIDs: [Int32]
    /// The id of each byte's byte-level character, or -1: the first symbols of a byte-level word.
    let byteLevelIDs: [Int32]

    init(json: JSONNode) throws {
        let type = try json.typeName()
        guard type == "BPE" else { throw json.unsupported(type, supported: ["BPE"]) }
        if let dropout = try json["dropout"].isNull ? nil : json["dropout"].double(), dropout != 0 {
            throw json["dropout"].error("is \(dropout); BPE dropout is not supported (it makes encoding random)")
        }
        var vocab: [ByteKey: Int32] = [:]
        var maxID = -1
        let vocabNode = json["vocab"]
        let entries = try vocabNode.object()
        vocab.reserveCapacity(entries.count)
        for (token, node) in entries {
            let id = try node.int()
            guard id >= 0 && id < Int(Int32.max) else { throw node.error("is \(id), not a token id") }
            vocab[ByteKey(token.utf8)] = Int32(id)
            maxID = max(maxID, id)
        }
        var tokens = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in vocab { tokens[Int(id)] = String(decoding: token.bytes, as: UTF8.self) }

        let prefix = try json["continuing_subword_prefix"].optionalString()
        let mergeNodes = try json["merges"].array()
        var merges = PairTable(capacity: mergeNodes.count)
        for (rank, node) in mergeNodes.enumerated() {
            let pair: [String]
            if let line = node.value as? String {
                pair = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                guard pair.count == 2 else { throw node.error("\"\(line)\" is not two tokens separated by a space") }
            } else {
                pair = try node.array().map { try $0.string() }
                guard pair.count == 2 else { throw node.error("must name two tokens, found \(pair.count)") }
            }
            func id(_ token: String) throws -> Int32 {
                guard let id = vocab[ByteKey(token.utf8)] else { throw node.error("names \"\(token)\", which is not in model.vocab") }
                return id
            }
            let (a, b) = (try id(pair[0]), try id(pair[1]))
            var mergedToken = pair[0]
            if let prefix, pair[1].hasPrefix(prefix) {
                mergedToken += pair[1].dropFirst(prefix.count)
            } else {
                mergedToken += pair[1]
            }
            let merged = try id(mergedToken)
            merges.set(a, b, rank: Int32(rank), merged: merged)
        }

        let unk = try json["unk_token"].optionalString()
        if let unk, vocab[ByteKey(unk.utf8)] == nil { throw json["unk_token"].error("\"\(unk)\" is not in model.vocab") }
        self.vocab = vocab
        self.tokens = tokens
        self.merges = merges
        self.unkID = unk.flatMap { vocab[ByteKey($0.utf8)] }
        self.continuingSubwordPrefix = try json["continuing_subword_prefix"].optionalString().map { Array($0.utf8) }
        self.endOfWordSuffix = try json["end_of_word_suffix"].optionalString().map { Array($0.utf8) }
        self.fuseUnk = try json["fuse_unk"].bool(default: false)
        self.byteFallback = try json["byte_fallback"].bool(default: false)
        self.ignoreMerges = try json["ignore_merges"].bool(default: false)
        self.byteTokenIDs = (0..<256).map { b in vocab[ByteKey(Self.byteTokenName(UInt8(b)).utf8)] ?? -1 }
        self.byteLevelIDs = (0..<256).map { b in vocab[ByteKey(ByteLevelAlphabet.utf8OfByte[b])] ?? -1 }
    }

    /// `<0x0A>`: the token byte fallback spells a byte with.
    static func byteTokenName(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x\(hex.count == 1 ? "0" + hex : hex)>"
    }

    var maxID: Int { tokens.count - 1 }

    // MARK: - Encoding one word

    /// The ids of one pre-tokenized word. With `byteLevel`, `word` is raw bytes that stand for
    /// their byte-level characters; otherwise it is the word's UTF-8.
    func encode(word: ArraySlice<UInt8>, byteLevel: Bool, into out: inout [Int32]) {
        var symbols: [Int32] = []
        if byteLevel && continuingSubwordPrefix == nil && endOfWordSuffix == nil {
            symbols.reserveCapacity(word.count)
            for b in word {
                let id = byteLevelIDs[Int(b)]
                if id < 0 { symbols.removeAll(); break }
                symbols.append(id)
            }
            if symbols.count == word.count {
                if ignoreMerges && word.count > 1, let id = vocab[ByteKey(ByteLevelAlphabet.encode(word))] {
                    out.append(id)
                    return
                }
                merge(&symbols)
                out += symbols
                return
            }
        }
        let text = byteLevel ? ByteLevelAlphabet.encode(word) : Array(word)
        if ignoreMerges, let id = vocab[ByteKey(text)] {
            out.append(id)
            return
        }
        symbols = initialSymbols(text)
        merge(&symbols)
        out += symbols
    }

    /// One symbol per character (with the subword prefix and end-of-word suffix where they
    /// apply), else its bytes' `<0xNN>` tokens under byte fallback, else the unknown token.
    private func initialSymbols(_ text: [UInt8]) -> [Int32] {
        var symbols: [Int32] = []
        var pendingUnk = false
        func flushUnk() {
            if pendingUnk, let unkID { symbols.append(unkID) }
            pendingUnk = false
        }
        var i = 0
        while i < text.count {
            var n = 1
            while i + n < text.count && text[i + n] & 0xC0 == 0x80 { n += 1 }
            var piece = text[i ..< i + n]
            if let prefix = continuingSubwordPrefix, i > 0 { piece = ArraySlice(prefix + piece) }
            if let suffix = endOfWordSuffix, i + n == text.count { piece = ArraySlice(piece + suffix) }
            i += n
            if let id = vocab[ByteKey(borrowing: piece)] {
                flushUnk()
                symbols.append(id)
                continue
            }
            if byteFallback && piece.allSatisfy({ byteTokenIDs[Int($0)] >= 0 }) {
                flushUnk()
                for b in piece { symbols.append(byteTokenIDs[Int(b)]) }
                continue
            }
            guard unkID != nil else { continue }  // no unknown token: the character is dropped, as in the Rust library
            if pendingUnk && !fuseUnk { flushUnk() }
            pendingUnk = true
        }
        flushUnk()
        return symbols
    }

    /// Applies merges to `symbols` lowest rank first, leftmost first among equal ranks (the
    /// order the Rust library's priority queue gives).
    func merge(_ symbols: inout [Int32]) {
        guard symbols.count > 1 else { return }
        if symbols.count > Self.longWord { return mergeLong(&symbols) }
        // Short words (nearly all): rescan the pair ranks for the lowest; cheaper than a heap.
        var ranks = [UInt64](repeating: .max, count: symbols.count - 1)
        for i in 0 ..< symbols.count - 1 { ranks[i] = merges.get(symbols[i], symbols[i + 1]) ?? .max }
        while true {
            var best = 0
            for i in 1 ..< max(ranks.count, 1) where ranks[i] < ranks[best] { best = i }
            if ranks.isEmpty || ranks[best] == .max { break }
            symbols[best] = Int32(truncatingIfNeeded: ranks[best] & 0xFFFF_FFFF)
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            if best > 0 { ranks[best - 1] = merges.get(symbols[best - 1], symbols[best]) ?? .max }
            if best < ranks.count { ranks[best] = merges.get(symbols[best], symbols[best + 1]) ?? .max }
        }
    }

    /// Above this many symbols, `merge` uses a heap (a whole line of CJK, or a file without a
    /// pre-tokenizer, is one word of hundreds of symbols).
    static let longWord = 64

    /// The same merges with a linked list of symbols and a min-heap of (rank, position), where an
    /// entry whose pair has changed since it was pushed is skipped when popped.
    private func mergeLong(_ symbols: inout [Int32]) {
        let n = symbols.count
        var next = [Int32](unsafeUninitializedCapacity: n) { b, c in
            for i in 0 ..< n { b[i] = i + 1 < n ? Int32(i + 1) : -1 }
            c = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { b, c in
            for i in 0 ..< n { b[i] = Int32(i - 1) }
            c = n
        }
        var heap = MinHeap()
        func push(_ i: Int) {
            let j = Int(next[i])
            guard j >= 0, let m = merges.get(symbols[i], symbols[j]) else { return }
            heap.push((m >> 32) << 32 | UInt64(i))
        }
        for i in 0 ..< n - 1 { push(i) }
        var alive = [Bool](repeating: true, count: n)
        while let top = heap.pop() {
            let i = Int(top & 0xFFFF_FFFF), rank = top >> 32
            guard alive[i], next[i] >= 0 else { continue }
            let j = Int(next[i])
            guard let m = merges.get(symbols[i], symbols[j]), m >> 32 == rank else { continue }
            symbols[i] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            alive[j] = false
            next[i] = next[j]
            if next[j] >= 0 { prev[Int(next[j])] = Int32(i) }
            if prev[i] >= 0 { push(Int(prev[i])) }
            push(i)
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var i = 0
        while i >= 0 {
            out.append(symbols[i])
            i = Int(next[i])
        }
        symbols = out
    }
}

/// A binary min-heap of packed (rank, position) values.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ v: UInt64) {
        items.append(v)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= v { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = v
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            let r = l + 1
            let c = r < n && items[r] < items[l] ? r : l
            if items[c] >= last { break }
            items[i] = items[c]
            i = c
        }
        items[i] = last
        return top
    }
}
