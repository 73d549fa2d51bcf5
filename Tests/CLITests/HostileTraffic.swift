import Foundation
import Messaging

/// One hostile message for a role's socket: its frames, the error code its reply must carry,
/// and the counter of the role that must count it (in the role's `traffic at` line at exit).
struct HostileMessage {
    var frames: [[UInt8]]
    var code: Int64
    var counter: String
}

/// The hostile traffic of HostileTrafficRunTests, made for one run (its id) and one connection
/// (sequence numbers new on it, so that only the replays are replays): random bytes, truncated
/// frames, too large frames, wrong versions, runs and kinds, envelopes whose tensors' shapes lie
/// to Messaging or to the role protocol, and resent sequence numbers.
struct HostileTraffic {
    let runID: UInt64
    private var sequence: UInt64 = 1000
    private var rng = SystemRandomNumberGenerator()

    init(runID: UInt64) { self.runID = runID }

    /// How many of each; every message is counted by exactly one counter.
    static let mix: [(kind: Kind, count: Int)] = [
        (.randomBytes, 2000), (.truncatedEnvelope, 1500), (.truncatedMetadata, 1000), (.missingTensorFrames, 500),
        (.shapeLiesToMessaging, 1000), (.reservedKind, 500), (.wrongVersion, 1000), (.wrongRun, 500),
        (.oversizedMetadata, 4), (.tooManyTensors, 4), (.notARoleRequest, 1000), (.shapeLiesToTheRole, 1000),
    ]
    /// Of the role-level messages above, this many are sent a second time right after, as they were.
    static let replays = 500

    enum Kind {
        case randomBytes, truncatedEnvelope, truncatedMetadata, missingTensorFrames, shapeLiesToMessaging, reservedKind
        case wrongVersion, wrongRun, oversizedMetadata, tooManyTensors, notARoleRequest, shapeLiesToTheRole
    }

    /// Every message of `mix` in a random order, each replay right after what it repeats.
    mutating func messages() throws -> [HostileMessage] {
        var kinds = Self.mix.flatMap { Array(repeating: $0.kind, count: $0.count) }
        kinds.shuffle(using: &rng)
        var out: [HostileMessage] = [], replaysLeft = Self.replays
        for kind in kinds {
            let m = try make(kind)
            out.append(m)
            if m.counter == "badRequests", replaysLeft > 0 {
                replaysLeft -= 1
                out.append(HostileMessage(frames: m.frames, code: WireErrorCode.replayed, counter: "replayed"))
            }
        }
        return out
    }

    // MARK: - Each kind

    private mutating func make(_ kind: Kind) throws -> HostileMessage {
        switch kind {
        case .randomBytes:
            // Never "R" first: four random bytes could otherwise be the magic.
            let bytes = (0..<Int.random(in: 1...300, using: &rng)).map { i in i == 0 ? UInt8.random(in: 0...0x51, using: &rng) : UInt8.random(in: 0...255, using: &rng) }
            return HostileMessage(frames: [bytes], code: WireErrorCode.malformed, counter: "malformed")
        case .truncatedEnvelope:
            let f = try valid()
            return HostileMessage(frames: [Array(f[0].prefix(Int.random(in: 0..<Envelope.byteCount, using: &rng)))] + f.dropFirst(),
                                  code: WireErrorCode.malformed, counter: "malformed")
        case .truncatedMetadata:
            var f = try valid()
            f[1] = Array(f[1].prefix(f[1].count / 2))
            return HostileMessage(frames: f, code: WireErrorCode.malformed, counter: "malformed")
        case .missingTensorFrames:
            var f = try valid(tensors: [try TensorFrame(name: "a", shape: [2], floats: [1, 2]), try TensorFrame(name: "b", shape: [1], floats: [3])])
            f.removeLast()
            return HostileMessage(frames: f, code: WireErrorCode.malformed, counter: "malformed")
        case .shapeLiesToMessaging:
            // The metadata says (3, 5) float32, 60 bytes; the frame holds fewer or more.
            var f = try valid(tensors: [try TensorFrame(name: "t", shape: [3, 5], floats: [Float](repeating: 1, count: 15))])
            f[2] = Array(f[2].prefix(Int.random(in: 0..<60, using: &rng))) + (Bool.random(using: &rng) ? [] : [UInt8](repeating: 7, count: 64))
            return HostileMessage(frames: f, code: WireErrorCode.malformed, counter: "malformed")
        case .reservedKind:
            let kind = [0] + Array(4...15)
            return HostileMessage(frames: try valid(kind: UInt8(kind.randomElement(using: &rng)!)), code: WireErrorCode.malformed, counter: "malformed")
        case .wrongVersion:
            let version = UInt16.random(in: 2...UInt16.max, using: &rng)
            return HostileMessage(frames: try valid { $0.version = version }, code: WireErrorCode.unknownVersion, counter: "unknownVersion")
        case .wrongRun:
            let other = runID &+ UInt64.random(in: 1...1000, using: &rng)
            return HostileMessage(frames: try valid { $0.runID = other }, code: WireErrorCode.wrongRun, counter: "wrongRun")
        case .oversizedMetadata:
            // Past MessageLimits.maxMetadataBytes (1 MiB), declared as it is.
            let json = Array(#"{"metadata":{"pad":""#.utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array(#""},"tensors":[]}"#.utf8)
            return HostileMessage(frames: [try header { $0.metadataByteCount = UInt32(json.count) }, json], code: WireErrorCode.oversized, counter: "oversized")
        case .tooManyTensors:
            // Past MessageLimits.maxTensors (4096), each frame present and empty.
            let f = try valid()
            return HostileMessage(frames: [try header { $0.tensorCount = 4097; $0.metadataByteCount = UInt32(f[1].count) }, f[1]]
                                  + Array(repeating: [], count: 4097), code: WireErrorCode.oversized, counter: "oversized")
        case .notARoleRequest:
            // A well-formed message of a kind the role protocol does not take as a request.
            let kind = [MessageKind.error.rawValue, MessageKind.pong.rawValue] + Array(17...255)
            return HostileMessage(frames: try valid(kind: kind.randomElement(using: &rng)!, metadata: ["kind": .string("score")]),
                                  code: 100, counter: "badRequests")
        case .shapeLiesToTheRole:
            let lie = roleLie()
            return HostileMessage(frames: try valid(kind: 16, metadata: lie.metadata, tensors: lie.tensors), code: 100, counter: "badRequests")
        }
    }

    /// A role request whose declared batch disagrees with its tensors (or names no request).
    private mutating func roleLie() -> (metadata: [String: MetadataValue], tensors: [TensorFrame]) {
        let rows = Int64.random(in: 1...4, using: &rng), width: Int64 = 8
        var integers: [String: MetadataValue] = ["batch_id": .int(1), "iteration": .int(1), "policy_version": .int(0), "rows": .int(rows),
                                                 "prompt_width": .int(width), "response_width": .int(width), "group_size": .int(1)]
        var promptValues = Int(rows * width) - 1  // one value short of what rows and width declare
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: promptValues += 2  // one too many
        case 1: integers["rows"] = .int(-1)
        case 2: integers["response_width"] = .int(1 << 20)
        default: break
        }
        let kind = ["reference_logprobs", "score", "values", "train_policy", "policy_logprobs", "no_such_request"].randomElement(using: &rng)!
        let tensors = [
            try! TensorFrame(name: "prompts", shape: [promptValues], int32s: [Int32](repeating: 5, count: promptValues)),
            try! TensorFrame(name: "prompt_lengths", shape: [Int(rows)], int32s: [Int32](repeating: 3, count: Int(rows))),
        ]
        return (["kind": .string(kind), "integers": .object(integers)], tensors)
    }

    // MARK: - Pieces

    private mutating func nextSequence() -> UInt64 {
        sequence += 1
        return sequence
    }

    /// The frames of a well-formed message of this run (a new sequence number), `edit`ed.
    private mutating func valid(kind: UInt8 = 16, metadata: [String: MetadataValue] = [:], tensors: [TensorFrame] = [],
                                edit: (inout Envelope) -> Void = { _ in }) throws -> [[UInt8]] {
        var m = Message(kind: MessageKind(rawValue: kind), metadata: metadata, tensors: tensors)
        m.envelope.runID = runID
        m.envelope.sequence = nextSequence()
        var frames = try MessageCodec.encode(m).map(\.array)
        var e = try frames[0].withUnsafeBytes { try Envelope.decode($0) }
        edit(&e)
        frames[0] = e.encoded().array
        return frames
    }

    /// A header of this run, kind 16, a new sequence number, `edit`ed.
    private mutating func header(_ edit: (inout Envelope) -> Void) throws -> [UInt8] {
        var e = Envelope(kind: MessageKind(rawValue: 16), runID: runID, sequence: nextSequence())
        edit(&e)
        return e.encoded().array
    }
}
