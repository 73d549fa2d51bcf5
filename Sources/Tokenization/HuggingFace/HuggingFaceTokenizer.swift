import Foundation
import Synchronization

/// A Hugging Face `tokenizer.json` tokenizer (Llama 3, Qwen2, SmolLM2, GPT-2 style byte-level
/// BPE), giving the ids the Rust `tokenizers` library gives.
///
/// Encoding runs the library's stages in its order: added tokens are cut out of the raw text,
/// the rest is normalized (and searched again for tokens matched after normalizing), split by
/// the pre-tokenizer, and each word is BPE-encoded through a bounded cache. What the file asks
/// for that is not implemented is refused at load with the JSON path of the part (Docs/models.md).
///
/// Immutable after load except for the word cache, which is behind a `Mutex`; so one instance
/// can be shared by threads.
public final class HuggingFaceTokenizer: TextTokenizer {
    public static let fileName = "tokenizer.json"

    let model: BPEModel
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let decoder: Decoder?
    private let postProcessor: PostProcessor
    private let rawTokens: AddedTokenMatcher
    private let normalizedTokens: AddedTokenMatcher
    /// Whether words are bytes standing for byte-level characters (a ByteLevel pre-tokenizer).
    private let byteLevel: Bool
    private let addedByID: [Int32: AddedToken]
    private let addedByContent: [ByteKey: Int32]
    private let cache = Mutex(WordCache())

    /// The `tokenizer_config.json` read with the tokenizer, if any.
    public let config: HuggingFaceTokenizerConfig?
    public let bosID: Int
    public let eosID: Int
    public let padID: Int
    /// Vocabulary size including added tokens: the highest id + 1.
    public let pieceCount: Int
    /// Whether `encodeAddingSpecialTokens` puts `bosID` first / `eosID` last.
    public let addsBOS: Bool
    public let addsEOS: Bool

    /// Reads `directory/tokenizer.json` and, when present, `directory/tokenizer_config.json`.
    public convenience init(directory: String) throws {
        let configPath = (directory as NSString).appendingPathComponent(HuggingFaceTokenizerConfig.fileName)
        let config = FileManager.default.fileExists(atPath: configPath) ? try HuggingFaceTokenizerConfig(contentsOf: configPath) : nil
        try self.init(tokenizerFile: (directory as NSString).appendingPathComponent(Self.fileName), config: config)
    }

    /// - Parameters:
    ///   - tokenizerFile: a `tokenizer.json`.
    ///   - config: its `tokenizer_config.json`, which names bos/eos/pad and may override whether
    ///     they are added (as transformers does); nil when there is none.
    /// - Throws: `TokenizerError` naming the file and the JSON path of anything malformed or unsupported.
    public init(tokenizerFile: String, config: HuggingFaceTokenizerConfig?) throws {
        guard FileManager.default.fileExists(atPath: tokenizerFile) else {
            throw TokenizerError("\(tokenizerFile): no such tokenizer file")
        }
        let json = try JSONNode.read(tokenizerFile)
        _ = try json.object()
        model = try BPEModel(json: json["model"])
        normalizer = try Normalizer(json: json["normalizer"])
        preTokenizer = try PreTokenizer(json: json["pre_tokenizer"])
        decoder = try Decoder(json: json["decoder"])
        byteLevel = preTokenizer?.containsByteLevel ?? false

        var added: [AddedToken] = []
        if !json["added_tokens"].isNull {
            added = try json["added_tokens"].array().map { try AddedToken(json: $0) }
                .assigningIDs(vocab: model.vocab, vocabCount: model.vocab.count)
        }
        rawTokens = AddedTokenMatcher(added.filter { !$0.normalized })
        normalizedTokens = AddedTokenMatcher(added.filter { $0.normalized })
        addedByID = Dictionary(added.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        addedByContent = Dictionary(added.map { (ByteKey($0.content), $0.id) }, uniquingKeysWith: { _, last in last })
        pieceCount = max(model.maxID, added.map { Int($0.id) }.max() ?? -1) + 1
        self.config = config

        // Which special tokens the config names, resolved now so a wrong name fails at load.
        let vocab = model.vocab, addedIDs = addedByContent
        func resolve(_ token: String?, _ key: String) throws -> Int? {
            guard let token else { return nil }
            guard let id = addedIDs[ByteKey(token.utf8)] ?? vocab[ByteKey(token.utf8)] else {
                throw TokenizerError("\(HuggingFaceTokenizerConfig.fileName): \(key) \"\(token)\" is not a token of \(tokenizerFile)")
            }
            return Int(id)
        }
        let bos = try resolve(config?.bosToken, "bos_token")
        let eos = try resolve(config?.eosToken, "eos_token")
        padID = try resolve(config?.padToken, "pad_token") ?? -1

        // The file's post-processor decides, as in `tokenizers` and in transformers 5 (which
        // measured, does not let the config's add_bos_token/add_eos_token override it). Without
        // one, the config's flags say what to add, as transformers' own template would.
        if let fileProcessor = try PostProcessor(json: json["post_processor"]) {
            postProcessor = fileProcessor
        } else {
            var p = PostProcessor()
            if config?.addBOSToken == true, let bos { p.prefix = [Int32(bos)] }
            if config?.addEOSToken == true, let eos { p.suffix = [Int32(eos)] }
            postProcessor = p
        }
        for id in postProcessor.ids where Int(id) >= pieceCount {
            throw TokenizerError("\(tokenizerFile): post_processor adds id \(id), outside the vocabulary of \(pieceCount)")
        }
        bosID = bos ?? (postProcessor.prefix.count == 1 ? Int(postProcessor.prefix[0]) : -1)
        eosID = eos ?? (postProcessor.suffix.count == 1 ? Int(postProcessor.suffix[0]) : -1)
        addsBOS = bosID >= 0 && postProcessor.prefix.first.map(Int.init) == bosID
        addsEOS = eosID >= 0 && postProcessor.suffix.last.map(Int.init) == eosID
    }

    // MARK: - Tokens

    /// The id of a token (an added token's content, or a vocabulary entry), or nil.
    public func id(ofToken token: String) -> Int? {
        let key = ByteKey(token.utf8)
        return (addedByContent[key] ?? model.vocab[key]).map(Int.init)
    }

    /// The token of `id` (its text as stored in the file, byte-level characters and all), or nil.
    public func token(_ id: Int) -> String? {
        guard id >= 0 && id < pieceCount else { return nil }
        if let added = addedByID[Int32(id)] { return String(decoding: added.content, as: UTF8.self) }
        return id < model.tokens.count ? model.tokens[id] : nil
    }

    /// True for added tokens marked special (what decoding skips).
    public func isSpecial(_ id: Int) -> Bool {
        guard id >= 0 && id < Int(Int32.max) else { return false }
        return addedByID[Int32(id)]?.special ?? false
    }

    // MARK: - Encoding

    /// Encodes text as `tokenizer.encode(text, add_special_tokens=False)` does: no bos/eos are
    /// added, but added and special tokens written in the text are matched.
    public func encode(_ text: String) throws -> [Int] {
        encodeIDs(text).map(Int.init)
    }

    /// Encodes text without bos/eos, choosing whether special tokens written in the text are
    /// matched. With `matchingSpecialTokens` false, "<|im_end|>" in a user's message is encoded as
    /// its characters (transformers' `split_special_tokens=True`); non-special added tokens are
    /// still matched.
    public func encode(_ text: String, matchingSpecialTokens: Bool) throws -> [Int] {
        encodeIDs(text, matchingSpecial: matchingSpecialTokens).map(Int.init)
    }

    /// Encodes text as `add_special_tokens=True` does: with the post-processor's bos/eos.
    public func encodeAddingSpecialTokens(_ text: String) throws -> [Int] {
        (postProcessor.prefix + encodeIDs(text) + postProcessor.suffix).map(Int.init)
    }

    private func encodeIDs(_ text: String, matchingSpecial: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var raw: [Segment] = []
        rawTokens.split(bytes[...], matchingSpecial: matchingSpecial, into: &raw)
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 4)
        for segment in raw {
            switch segment {
            case .token(let id): out.append(id)
            case .text(let slice):
                let startsText = slice.startIndex == 0
                let normalized = normalize(slice)
                var parts: [Segment] = []
                normalizedTokens.split(normalized, matchingSpecial: matchingSpecial, into: &parts)
                for part in parts {
                    switch part {
                    case .token(let id): out.append(id)
                    case .text(let t): encodeText(t, startsText: startsText && t.startIndex == normalized.startIndex, into: &out)
                    }
                }
            }
        }
        return out
    }

    private func normalize(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let normalizer else { return text }
        if normalizer.isIdentityOnASCII && !text.contains(where: { $0 >= 0x80 }) { return text }
        return ArraySlice(normalizer.apply(Array(text)))
    }

    /// Pre-tokenizes one stretch of text without added tokens and BPE-encodes its words.
    private func encodeText(_ text: ArraySlice<UInt8>, startsText: Bool, into out: inout [Int32]) {
        let words = preTokenizer?.apply([text], startsText: startsText) ?? (text.isEmpty ? [] : [text])
        if words.isEmpty { return }
        // One lock to find the known words, the rest encoded outside it, one lock to remember them.
        var found = cache.withLock { cache in words.map { cache.entries[ByteKey(borrowing: $0)] } }
        var fresh: [(ByteKey, [Int32])] = []
        for (i, word) in words.enumerated() where found[i] == nil {
            var ids: [Int32] = []
            model.encode(word: word, byteLevel: byteLevel, into: &ids)
            found[i] = ids
            if word.count <= WordCache.longestWord { fresh.append((ByteKey(word), ids)) }
        }
        for ids in found { out += ids! }
        if !fresh.isEmpty { cache.withLock { $0.insert(fresh) } }
    }

    // MARK: - Decoding

    /// Decodes ids as `decode(ids, skip_special_tokens=True)` does.
    /// - Throws: `TokenizerError` for an id outside the vocabulary.
    public func decode(_ ids: [Int]) throws -> String {
        try decode(ids, skipSpecialTokens: true)
    }

    /// Decodes ids, keeping or dropping special added tokens.
    /// - Throws: `TokenizerError` for an id outside the vocabulary.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) throws -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = token(id) else {
                throw TokenizerError("decode: id \(id) is not a token of this tokenizer (vocabulary size \(pieceCount))")
            }
            if skipSpecialTokens && isSpecial(id) { continue }
            tokens.append(t)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }
}

/// Words already encoded, as the Rust library keeps them: at most `capacity` words of at most
/// `longestWord` bytes, and once full, no more are added.
struct WordCache: Sendable {
    static let capacity = 10_000
    static let longestWord = 256
    var entries: [ByteKey: [Int32]] = [:]

    mutating func insert(_ fresh: [(ByteKey, [Int32])]) {
        for (key, ids) in fresh where entries.count < Self.capacity { entries[key] = ids }
    }
}
