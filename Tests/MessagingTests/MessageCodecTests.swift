import Foundation
import Messaging
import XCTest

/// The wire format without sockets: round trips, the exact header bytes, and refusals.
final class MessageCodecTests: XCTestCase {
    static let rollout = MessageKind(rawValue: 16)

    func sampleMessage() throws -> Message {
        var m = Message(
            kind: Self.rollout, policyVersion: 7,
            metadata: ["batch": 12, "temperature": 0.7, "task": "arith", "ok": true, "ids": [1, 2, 3], "none": nil, "nested": ["a": 1]],
            tensors: [
                try TensorFrame(name: "logprobs", shape: [2, 3], floats: [-0.5, -1.25, 0, 3.5e-8, -Float.greatestFiniteMagnitude, 1]),
                try TensorFrame(name: "tokens", shape: [2, 2], int32s: [1, -2, Int32.max, Int32.min]),
                try TensorFrame(name: "mask", shape: [4], uint8s: [0, 1, 1, 255]),
                try TensorFrame(name: "empty", shape: [0, 5], floats: []),
            ])
        m.envelope.runID = 0xDEAD_BEEF_0102_0304
        m.envelope.sender = 3
        m.envelope.sequence = 41
        return m
    }

    func testRoundTrip_keepsEnvelopeMetadataAndTensorBits() throws {
        let m = try sampleMessage()
        let frames = try MessageCodec.encode(m)
        XCTAssertEqual(frames.count, 2 + 4)
        let back = try MessageCodec.decode(frames[...], limits: MessageLimits())
        XCTAssertEqual(back.envelope.kind, Self.rollout)
        XCTAssertEqual(back.envelope.runID, 0xDEAD_BEEF_0102_0304)
        XCTAssertEqual(back.envelope.sender, 3)
        XCTAssertEqual(back.envelope.sequence, 41)
        XCTAssertEqual(back.envelope.policyVersion, 7)
        XCTAssertEqual(back.envelope.tensorCount, 4)
        XCTAssertEqual(back.metadata, m.metadata)
        XCTAssertEqual(try back.int("batch"), 12)
        XCTAssertEqual(try back.string("task"), "arith")
        XCTAssertThrowsError(try back.int("task"))  // a string read as an integer names the field
        XCTAssertEqual(try back.tensor("logprobs").floats().map(\.bitPattern), try m.tensors[0].floats().map(\.bitPattern))
        XCTAssertEqual(try back.tensor("logprobs").shape, [2, 3])
        XCTAssertEqual(try back.tensor("tokens").int32s(), [1, -2, Int32.max, Int32.min])
        XCTAssertEqual(try back.tensor("mask").uint8s(), [0, 1, 1, 255])
        XCTAssertEqual(try back.tensor("empty").floats(), [])
        XCTAssertThrowsError(try back.tensor("tokens").floats())  // dtype checked on read
        XCTAssertThrowsError(try back.tensor("missing"))
        // The tensor frames are the tensors' own buffers: encoding copied nothing.
        XCTAssertTrue(frames[2] === m.tensors[0].bytes)
    }

    /// The header layout of Docs/messages.md, byte for byte.
    func testEnvelope_byteLayoutIsTheDocumentedOne() throws {
        var e = Envelope(kind: MessageKind(rawValue: 0x21), runID: 0x0102_0304_0506_0708, sender: 0x11, sequence: 0x2233, policyVersion: 0x44)
        e.tensorCount = 2
        e.metadataByteCount = 0x0100
        e.oneWay = true
        let bytes = e.encoded().array
        let expected: [UInt8] = [0x52, 0x4C, 0x48, 0x46, 0x01, 0x00, 0x21, 0x01]
            + [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]
            + [0x11, 0, 0, 0, 0, 0, 0, 0]
            + [0x33, 0x22, 0, 0, 0, 0, 0, 0]
            + [0x44, 0, 0, 0, 0, 0, 0, 0]
            + [0x02, 0, 0, 0]
            + [0x00, 0x01, 0, 0]
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual(bytes.count, Envelope.byteCount)
        let back = try bytes.withUnsafeBytes { try Envelope.decode($0) }
        XCTAssertEqual(back, e)
    }

    func testTensorFrame_refusesBytesThatDisagreeWithTheShape() {
        XCTAssertThrowsError(try TensorFrame(name: "x", shape: [2, 2], floats: [1, 2, 3]))
        XCTAssertThrowsError(try TensorFrame(name: "x", dtype: .i32, shape: [3], bytes: FrameBytes([1, 2, 3, 4])))
        XCTAssertThrowsError(try TensorFrame(name: "x", dtype: .u8, shape: [-1, -4], bytes: FrameBytes([1, 2, 3, 4])))
        XCTAssertThrowsError(try TensorFrame(name: "x", dtype: .f32, shape: [Int.max, 2], bytes: FrameBytes()))
        XCTAssertThrowsError(try TensorFrame(name: "x", dtype: .u8, shape: Array(repeating: 1, count: 9), bytes: FrameBytes([1])))
        XCTAssertNoThrow(try TensorFrame(name: "x", dtype: .u8, shape: [2, 2], bytes: FrameBytes([1, 2, 3, 4])))
    }

    func testEncode_refusesNaNInMetadata() {
        XCTAssertThrowsError(try MessageCodec.encode(Message(kind: Self.rollout, metadata: ["x": .double(.nan)])))
    }

    // MARK: - Hostile frames: each is refused with the right code, never a crash

    func refusal(_ frames: [[UInt8]], limits: MessageLimits = MessageLimits(), runID: UInt64 = 0,
                 file: StaticString = #filePath, line: UInt = #line) -> MessagingError.Code? {
        do {
            _ = try MessageCodec.decode(frames.map { FrameBytes($0) }[...], limits: limits, runID: runID)
            XCTFail("accepted hostile frames", file: file, line: line)
            return nil
        } catch let e as MessagingError {
            XCTAssertFalse(e.detail.isEmpty, file: file, line: line)
            return e.code
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func validFrames() throws -> [[UInt8]] { try MessageCodec.encode(sampleMessage()).map(\.array) }

    /// Frames with a header rewritten by `edit` (the JSON kept as it is).
    func withHeader(_ edit: (inout Envelope) -> Void) throws -> [[UInt8]] {
        var f = try validFrames()
        var e = try f[0].withUnsafeBytes { try Envelope.decode($0) }
        edit(&e)
        f[0] = e.encoded().array
        return f
    }

    /// Frames with the metadata JSON replaced (the header's metadata length kept consistent).
    func withJSON(_ json: String, tensorFrames: [[UInt8]]) -> [[UInt8]] {
        var e = Envelope(kind: Self.rollout)
        e.tensorCount = UInt32(tensorFrames.count)
        e.metadataByteCount = UInt32(json.utf8.count)
        return [e.encoded().array, Array(json.utf8)] + tensorFrames
    }

    func testHostile_randomBytesAndEmptyFrames() throws {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 1, 5, 47, 48, 49, 1000] {
            let junk = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(refusal([junk]), .malformed)
            XCTAssertEqual(refusal([junk, junk]), .malformed)
        }
        XCTAssertEqual(refusal([]), .malformed)
        XCTAssertEqual(refusal([[], []]), .malformed)
        XCTAssertEqual(refusal([[], [], []]), .malformed)
    }

    func testHostile_truncatedWrongMagicAndUnknownVersion() throws {
        let f = try validFrames()
        XCTAssertEqual(refusal([Array(f[0].prefix(20))] + f.dropFirst()), .malformed)
        XCTAssertEqual(refusal([f[0]]), .malformed)  // no metadata frame
        XCTAssertEqual(refusal(Array(f.prefix(3))), .malformed)  // tensor frames missing
        var magic = f
        magic[0][0] = 0x51
        XCTAssertEqual(refusal(magic), .malformed)
        var version = f
        version[0][4] = 2
        XCTAssertEqual(refusal(version), .unknownVersion)
        XCTAssertEqual(refusal([Envelope.magic + [9, 0]]), .unknownVersion)  // short frame of a future version
        var truncatedTensor = f
        truncatedTensor[2].removeLast()
        XCTAssertEqual(refusal(truncatedTensor), .malformed)
        var reservedKind = f
        reservedKind[0][6] = 9
        XCTAssertEqual(refusal(reservedKind), .malformed)
    }

    func testHostile_headerClaimingMoreTensorsThanFrames() throws {
        XCTAssertEqual(refusal(try withHeader { $0.tensorCount = 5 }), .malformed)
        XCTAssertEqual(refusal(try withHeader { $0.tensorCount = .max }), .malformed)
        XCTAssertEqual(refusal(try withHeader { $0.metadataByteCount = .max }), .malformed)
        let json = #"{"metadata":{},"tensors":[{"name":"a","dtype":"f32","shape":[1]},{"name":"b","dtype":"f32","shape":[1]}]}"#
        XCTAssertEqual(refusal(withJSON(json, tensorFrames: [[0, 0, 0, 0]])), .malformed)
    }

    func testHostile_shapesThatOverflowOrLieAboutSizes() {
        let four: [[UInt8]] = [[0, 0, 0, 0]]
        for shape in ["[9223372036854775807,2]", "[4611686018427387904,4]", "[-1]", "[-1,-4]", "[1e30]", "[1.5]", "[\"4\"]", "[1,1,1,1,1,1,1,1,1]"] {
            let json = #"{"metadata":{},"tensors":[{"name":"a","dtype":"f32","shape":"# + shape + "}]}"
            XCTAssertEqual(refusal(withJSON(json, tensorFrames: four)), .malformed, shape)
        }
        // A huge declared size with a small frame.
        let huge = #"{"metadata":{},"tensors":[{"name":"a","dtype":"u8","shape":[1000000000000]}]}"#
        XCTAssertEqual(refusal(withJSON(huge, tensorFrames: four)), .malformed)
        let dtype = #"{"metadata":{},"tensors":[{"name":"a","dtype":"f64","shape":[1]}]}"#
        XCTAssertEqual(refusal(withJSON(dtype, tensorFrames: four)), .malformed)
        let twice = #"{"metadata":{},"tensors":[{"name":"a","dtype":"u8","shape":[4]},{"name":"a","dtype":"u8","shape":[4]}]}"#
        XCTAssertEqual(refusal(withJSON(twice, tensorFrames: four + four)), .malformed)
    }

    func testHostile_badJSON() {
        for json in ["", "{", "null", "[]", #"{"tensors":[]}"#, #"{"metadata":{"a":1},"tensors":{}}"#, "\u{FF}\u{FE}"] {
            XCTAssertEqual(refusal(withJSON(json, tensorFrames: [])), .malformed, json)
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertEqual(refusal(withJSON(#"{"tensors":[],"metadata":{"x":"# + deep + "}}", tensorFrames: [])), .malformed)
    }

    func testHostile_oversizedAndWrongRun() throws {
        let limits = MessageLimits(maxMessageBytes: 100, maxMetadataBytes: 1 << 20, maxTensors: 16)
        XCTAssertEqual(refusal(try validFrames(), limits: limits), .oversized)
        XCTAssertEqual(refusal(try validFrames(), limits: MessageLimits(maxMetadataBytes: 10)), .oversized)
        XCTAssertEqual(refusal(try validFrames(), limits: MessageLimits(maxTensors: 3)), .oversized)
        XCTAssertEqual(refusal(try validFrames(), runID: 5), .wrongRun)
        XCTAssertNoThrow(try MessageCodec.decode(MessageCodec.encode(sampleMessage())[...], limits: MessageLimits(), runID: 0xDEAD_BEEF_0102_0304))
    }
}
