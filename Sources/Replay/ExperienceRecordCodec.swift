import Foundation
import Roles
import Training

/// An experience record as bytes: a JSON header (the scalars, the trainers' figures, the weight
/// digests, and the name, type and length of every array that follows), then the arrays raw,
/// little-endian, in the header's order. Docs/replay.md gives the layout.
///
/// JSON for the header because it is small, readable with any tool, and grows new keys without
/// a new format version; raw arrays because they are most of the bytes and need no parsing.
/// Decoding checks every array against the shape the header declares, so a damaged record that
/// passed its checksum is still refused with the field named, never read out of bounds.
public enum ExperienceRecordCodec {
    /// The record format this build writes and reads.
    public static let formatVersion = 1

    struct Header: Codable {
        var format: Int
        var iteration: Int
        var batchID: UInt64
        var policyVersion: Int
        var policyVersionAfter: Int
        var rows: Int
        var promptWidth: Int
        var responseWidth: Int
        var groupSize: Int
        var klCoef: Double
        /// Hex: JSON numbers do not hold every UInt64 exactly.
        var runSeed: String
        var generationSeed: String
        var trained: [String: Double]
        var digests: [String: [Digest]]
        var arrays: [ArrayEntry]

        enum CodingKeys: String, CodingKey {
            case format, iteration, trained, digests, arrays
            case batchID = "batch_id", policyVersion = "policy_version", policyVersionAfter = "policy_version_after"
            case rows, promptWidth = "prompt_width", responseWidth = "response_width", groupSize = "group_size"
            case klCoef = "kl_coef", runSeed = "run_seed", generationSeed = "generation_seed"
        }

        struct Digest: Codable {
            var name: String
            var value: String
        }

        struct ArrayEntry: Codable, Equatable {
            var name: String
            var type: String
            var count: Int
        }
    }

    /// The arrays of a record, in order, with their element type and count for a B x P, B x R batch.
    static func layout(B: Int, P: Int, R: Int) -> [Header.ArrayEntry] {
        let perToken = ["behaviour_logprobs", "logprobs", "ref_logprobs", "values", "rewards", "kl_rewards", "advantages", "returns"]
        return [
            .init(name: "prompt_lengths", type: "i32", count: B),
            .init(name: "prompts", type: "i32", count: B * P),
            .init(name: "response_lengths", type: "i32", count: B),
            .init(name: "responses", type: "i32", count: B * R),
            .init(name: "ended", type: "u8", count: B),
            .init(name: "scores", type: "f32", count: B),
        ] + perToken.map { .init(name: $0, type: "f32", count: B * R) }
    }

    private static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    private static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    // MARK: - Encoding

    /// The payload of one record.
    public static func encode(_ record: ExperienceRecord) throws -> [UInt8] {
        let b = record.batch
        let header = Header(
            format: formatVersion, iteration: b.iteration, batchID: b.batchID, policyVersion: b.policyVersion,
            policyVersionAfter: record.policyVersionAfter, rows: b.B, promptWidth: b.promptWidth, responseWidth: b.responseWidth,
            groupSize: b.groupSize, klCoef: record.klCoef, runSeed: hex(record.runSeed), generationSeed: hex(record.generationSeed),
            trained: record.trained,
            digests: record.digests.mapValues { $0.map { Header.Digest(name: $0.name, value: $0.hex) } },
            arrays: layout(B: b.B, P: b.promptWidth, R: b.responseWidth))
        let json = try encoder().encode(header)
        var out: [UInt8] = []
        out.reserveCapacity(4 + json.count + b.B * (b.promptWidth + b.responseWidth * 9 + 16) * 4)
        append(UInt32(json.count), to: &out)
        out += json
        append(b.promptLengths, to: &out)
        append(b.prompts, to: &out)
        append(b.responseLengths, to: &out)
        append(b.responses, to: &out)
        out += b.ended
        for field in [b.scores, b.behaviourLogProbs, b.logProbs, b.refLogProbs, b.values, b.rewards, b.klRewards, b.advantages, b.returns] {
            append(field, to: &out)
        }
        return out
    }

    static func append(_ v: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    private static func append(_ v: [Int32], to out: inout [UInt8]) {
        // Little-endian hosts only (x86-64, arm64): the arrays go out as they sit in memory.
        v.withUnsafeBytes { out += $0 }
    }

    private static func append(_ v: [Float], to out: inout [UInt8]) {
        v.withUnsafeBytes { out += $0 }
    }

    // MARK: - Decoding

    /// The record in `payload`.
    /// - Throws: `ReplayError.damaged` naming what does not fit (the caller adds the file and offset).
    public static func decode(_ payload: UnsafeRawBufferPointer) throws -> ExperienceRecord {
        guard payload.count >= 4 else { throw ReplayError(.damaged, "record shorter than its header length") }
        let headerLength = Int(payload.loadUnaligned(as: UInt32.self).littleEndian)
        guard headerLength <= payload.count - 4 else {
            throw ReplayError(.damaged, "header length \(headerLength) exceeds the record's \(payload.count) bytes")
        }
        let header: Header
        do {
            header = try decoder().decode(Header.self, from: Data(payload[4..<(4 + headerLength)]))
        } catch {
            throw ReplayError(.damaged, "header is not the expected JSON: \(error)")
        }
        guard header.format == formatVersion else {
            throw ReplayError(.unsupported, "record format \(header.format); this build reads format \(formatVersion)")
        }
        let B = header.rows, P = header.promptWidth, R = header.responseWidth
        let limit = 1 << 28
        guard B >= 0, P >= 0, R >= 0, B <= limit, P <= limit, R <= limit, B * max(P, R) <= limit, header.groupSize >= 1 else {
            throw ReplayError(.damaged, "shape \(B) x \(P) / \(R) in groups of \(header.groupSize) is not a batch")
        }
        let expected = layout(B: B, P: P, R: R)
        guard header.arrays == expected else {
            throw ReplayError(.damaged, "arrays \(header.arrays.map { "\($0.name):\($0.type)[\($0.count)]" }) do not match a \(B) x \(P) / \(R) batch")
        }
        var at = 4 + headerLength
        func bytes(_ n: Int, _ name: String) throws -> UnsafeRawBufferPointer {
            guard n <= payload.count - at else {
                throw ReplayError(.damaged, "array \(name) runs past the end of the record")
            }
            defer { at += n }
            return UnsafeRawBufferPointer(rebasing: payload[at..<(at + n)])
        }
        func ints(_ n: Int, _ name: String) throws -> [Int32] {
            let raw = try bytes(n * 4, name)
            return (0..<n).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
        func floats(_ n: Int, _ name: String) throws -> [Float] {
            let raw = try bytes(n * 4, name)
            return (0..<n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        var b = ExperienceBatch(batchID: header.batchID, iteration: header.iteration, policyVersion: header.policyVersion,
                                B: B, promptWidth: P, responseWidth: R, groupSize: header.groupSize)
        b.promptLengths = try ints(B, "prompt_lengths")
        b.prompts = try ints(B * P, "prompts")
        b.responseLengths = try ints(B, "response_lengths")
        b.responses = try ints(B * R, "responses")
        b.ended = Array(try bytes(B, "ended"))
        b.scores = try floats(B, "scores")
        b.behaviourLogProbs = try floats(B * R, "behaviour_logprobs")
        b.logProbs = try floats(B * R, "logprobs")
        b.refLogProbs = try floats(B * R, "ref_logprobs")
        b.values = try floats(B * R, "values")
        b.rewards = try floats(B * R, "rewards")
        b.klRewards = try floats(B * R, "kl_rewards")
        b.advantages = try floats(B * R, "advantages")
        b.returns = try floats(B * R, "returns")
        guard at == payload.count else { throw ReplayError(.damaged, "\(payload.count - at) bytes after the last array") }
        for row in 0..<B {
            guard (0...Int32(P)).contains(b.promptLengths[row]), (0...Int32(R)).contains(b.responseLengths[row]) else {
                throw ReplayError(.damaged, "row \(row): lengths \(b.promptLengths[row]) / \(b.responseLengths[row]) exceed the widths \(P) / \(R)")
            }
        }
        func seed(_ s: String, _ name: String) throws -> UInt64 {
            guard let v = UInt64(s, radix: 16) else { throw ReplayError(.damaged, "\(name) \(s.prefix(20)) is not hex") }
            return v
        }
        var digests: [String: [TensorDigest]] = [:]
        for (role, list) in header.digests {
            digests[role] = try list.map { TensorDigest(name: $0.name, value: try seed($0.value, "digest of \($0.name)")) }
        }
        return ExperienceRecord(batch: b, klCoef: header.klCoef, runSeed: try seed(header.runSeed, "run_seed"),
                                generationSeed: try seed(header.generationSeed, "generation_seed"),
                                policyVersionAfter: header.policyVersionAfter, trained: header.trained, digests: digests)
    }
}
