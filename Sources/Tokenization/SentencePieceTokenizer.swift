import CSentencePiece
import Foundation

/// An error from the SentencePiece library, with the file it concerns when there is one.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A SentencePiece model (`tokenizer.model`): encode, decode and the special ids.
///
/// The processor is immutable after loading and SentencePiece documents `Encode`/`Decode` as
/// const and thread-safe, so one instance can be shared.
public final class SentencePieceTokenizer: @unchecked Sendable {
    // @unchecked: the only stored state is the C++ processor, which is never mutated after load;
    // SentencePieceProcessor's const methods are safe to call from several threads.
    private let handle: OpaquePointer

    /// Loads `path` (a `tokenizer.model` file).
    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TokenizerError("\(path): no such tokenizer model file")
        }
        var err = [CChar](repeating: 0, count: 1024)
        guard let h = spm_load(path, &err, err.count) else {
            throw TokenizerError("\(path): not a SentencePiece model: \(String(nulTerminated: err))")
        }
        handle = h
    }

    deinit { spm_free(handle) }

    /// Number of pieces (the vocabulary size the model's embedding must cover).
    public var pieceCount: Int { Int(spm_piece_count(handle)) }
    /// Special ids; -1 when the model has none.
    public var bosID: Int { Int(spm_bos_id(handle)) }
    public var eosID: Int { Int(spm_eos_id(handle)) }
    public var padID: Int { Int(spm_pad_id(handle)) }
    public var unkID: Int { Int(spm_unk_id(handle)) }

    /// The id of a piece, or `unkID` if the model has no such piece.
    public func id(ofPiece piece: String) -> Int { Int(spm_piece_to_id(handle, piece)) }

    /// The text of piece `id`, or nil when `id` is outside the vocabulary.
    public func piece(_ id: Int) -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        let n = spm_id_to_piece(handle, Int32(id), &buf, buf.count)
        if n < 0 { return nil }
        if Int(n) >= buf.count {
            buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = spm_id_to_piece(handle, Int32(id), &buf, buf.count)
        }
        return String(nulTerminated: buf)
    }

    /// True for control pieces such as bos, eos and pad.
    public func isControl(_ id: Int) -> Bool { spm_is_control(handle, Int32(id)) != 0 }

    /// Encodes UTF-8 text to ids (no bos/eos added).
    public func encode(_ text: String) throws -> [Int] {
        var err = [CChar](repeating: 0, count: 512)
        var utf8 = Array(text.utf8)
        utf8.append(0)
        var out = [Int32](repeating: 0, count: max(16, utf8.count + 8))
        var n = utf8.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) {
                spm_encode(handle, $0, b.count - 1, &out, out.count, &err, err.count)
            }
        }
        if n < 0 { throw TokenizerError("encode failed: \(String(nulTerminated: err))") }
        if Int(n) > out.count {
            out = [Int32](repeating: 0, count: Int(n))
            n = utf8.withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) {
                    spm_encode(handle, $0, b.count - 1, &out, out.count, &err, err.count)
                }
            }
        }
        return out[0..<Int(n)].map { Int($0) }
    }

    /// Decodes ids to text; control pieces decode to nothing.
    public func decode(_ ids: [Int]) throws -> String {
        let ids32 = ids.map { Int32(truncatingIfNeeded: $0) }
        var err = [CChar](repeating: 0, count: 512)
        var cap = max(64, ids.count * 8)
        while true {
            var out = [UInt8](repeating: 0, count: cap)
            let n = out.withUnsafeMutableBufferPointer { ob in
                ob.baseAddress!.withMemoryRebound(to: CChar.self, capacity: cap) {
                    spm_decode(handle, ids32, ids32.count, $0, cap, &err, err.count)
                }
            }
            if n < 0 { throw TokenizerError("decode failed: \(String(nulTerminated: err))") }
            if Int(n) <= cap { return String(decoding: out[0..<Int(n)], as: UTF8.self) }
            cap = Int(n)
        }
    }
}

extension String {
    /// The text of a C buffer up to its first NUL (all of it when there is none).
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
