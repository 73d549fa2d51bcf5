import Foundation
import Model
import XCTest

// MARK: - Helpers shared by the checkpoint and config tests

/// A fresh directory under the system temporary directory, removed by `tearDown`.
func makeTemporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ModelTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// A safetensors file built byte by byte, so the tests do not trust our writer to test our reader.
func safetensorsBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    var bytes = Data()
    var length = (declaredLength ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: Array(header.utf8))
    bytes.append(contentsOf: data)
    return bytes
}

/// Little-endian bytes of Float32 values.
func f32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

/// Little-endian bytes of 16-bit patterns (BF16 or F16).
func u16Bytes(_ values: [UInt16]) -> [UInt8] {
    values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
}

/// Asserts that `body` throws a ``CheckpointError`` with `code` whose description mentions every
/// string in `mentions` (the file path, the tensor or field, the key word of the message).
func assertCheckpointError(
    _ code: CheckpointError.Code, mentions: [String], _ context: String = "",
    file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) {
    do {
        try body()
        XCTFail("\(context): expected a \(code) error, nothing was thrown", file: file, line: line)
    } catch let error as CheckpointError {
        XCTAssertEqual(error.code, code, "\(context): \(error)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(error.description.contains(text), "\(context): '\(error)' does not mention '\(text)'", file: file, line: line)
        }
    } catch {
        XCTFail("\(context): expected a CheckpointError, got \(error)", file: file, line: line)
    }
}

/// Compares floats bit for bit, NaNs by being NaN, so -0 and subnormals are checked exactly.
func assertSameBits(_ actual: [Float], _ expected: [Float], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        if e.isNaN {
            XCTAssertTrue(a.isNaN, "element \(i): expected NaN, got \(a)", file: file, line: line)
        } else {
            XCTAssertEqual(a.bitPattern, e.bitPattern, "element \(i): expected \(e), got \(a)", file: file, line: line)
        }
    }
}

// MARK: - safetensors

final class CheckpointIOTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func path(_ name: String) -> String { dir + "/" + name }

    func testWriteThenRead_roundTripsValuesShapesAndNames() throws {
        let tensors: [String: HostTensor] = [
            "model.embed_tokens.weight": HostTensor(shape: [3, 2], data: [1, -2, 0.5, .infinity, -0.0, .leastNonzeroMagnitude]),
            "scalar": HostTensor(shape: [], data: [42]),
            "empty": HostTensor(shape: [0, 4], data: []),
            "b.bias": HostTensor(shape: [4], repeating: 0.25),
        ]
        try SafeTensors.write(tensors, to: path("w.safetensors"))
        let read = try SafeTensors.read(contentsOf: path("w.safetensors"))
        XCTAssertEqual(read, tensors)
        XCTAssertEqual(read["scalar"]?.count, 1)
        XCTAssertEqual(try SafeTensors.readHeader(contentsOf: path("w.safetensors")).metadata, ["format": "pt"])
    }

    func testWrite_layoutIsTheOneTransformersReads() throws {
        try SafeTensors.write(
            ["z": HostTensor(shape: [1], data: [3]), "a": HostTensor(shape: [2], data: [1, 2])],
            to: path("w.safetensors"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("w.safetensors")))
        let headerLength = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual((8 + headerLength) % 8, 0, "data section must start 8-byte aligned")
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"a":"#), header)
        XCTAssertTrue(header.contains(#""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#), header)
        XCTAssertTrue(header.contains(#""z":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}"#), header)
        XCTAssertEqual(Array(bytes[(8 + headerLength)...]), f32Bytes([1, 2, 3]))
    }

    func testWrite_keepsCallerMetadataBesideFormat() throws {
        try SafeTensors.write(["a": HostTensor(shape: [1], data: [1])], to: path("w.safetensors"), metadata: ["step": "7"])
        XCTAssertEqual(try SafeTensors.readHeader(contentsOf: path("w.safetensors")).metadata, ["format": "pt", "step": "7"])
    }

    func testWrite_replacesTheFileAndLeavesNoTemporaryFile() throws {
        try SafeTensors.write(["a": HostTensor(shape: [1], data: [1])], to: path("w.safetensors"))
        try SafeTensors.write(["b": HostTensor(shape: [2], data: [5, 6])], to: path("w.safetensors"))
        XCTAssertEqual(try SafeTensors.read(contentsOf: path("w.safetensors")), ["b": HostTensor(shape: [2], data: [5, 6])])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["w.safetensors"])
    }

    func testWrite_whenDirectoryIsMissing_throwsNamingIt() {
        let target = path("missing/w.safetensors")
        assertCheckpointError(.notFound, mentions: [target, "does not exist"]) {
            try SafeTensors.write(["a": HostTensor(shape: [1], data: [1])], to: target)
        }
    }

    func testWrite_whenShapeDoesNotMatchData_throwsNamingTensorAndLeavesNoFile() {
        var tensor = HostTensor(shape: [2], data: [1, 2])
        tensor.shape = [3]
        assertCheckpointError(.invalidValue, mentions: [path("w.safetensors"), "'bad'", "[3]"]) {
            try SafeTensors.write(["bad": tensor], to: path("w.safetensors"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testRead_bf16_decodesKnownBitPatterns() throws {
        let bits: [UInt16] = [0x3F80, 0xC040, 0x4049, 0x8000, 0x0001, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0]
        let expected: [Float] = [1, -3, 3.140625, -0.0, Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x7F7F_0000),
                                 .infinity, -.infinity, .nan]
        let header = #"{"t":{"dtype":"BF16","shape":[3,3],"data_offsets":[0,18]}}"#
        try safetensorsBytes(header: header, data: u16Bytes(bits)).write(to: URL(fileURLWithPath: path("b.safetensors")))
        let tensor = try XCTUnwrap(SafeTensors.read(contentsOf: path("b.safetensors"))["t"])
        XCTAssertEqual(tensor.shape, [3, 3])
        assertSameBits(tensor.data, expected)
    }

    func testRead_f16_decodesKnownBitPatternsIncludingSubnormalsInfinitiesAndNaNs() throws {
        let bits: [UInt16] = [0x0000, 0x8000, 0x3C00, 0xC000, 0x3555, 0x7BFF, 0x0400, 0x0001, 0x03FF, 0x8001,
                              0x7C00, 0xFC00, 0x7E00, 0x7C01]
        let expected: [Float] = [0, -0.0, 1, -2, 0.333251953125, 65504, 0x1p-14, 0x1p-24, 1023 * 0x1p-24, -0x1p-24,
                                 .infinity, -.infinity, .nan, .nan]
        let header = #"{"t":{"dtype":"F16","shape":[14],"data_offsets":[0,28]}}"#
        try safetensorsBytes(header: header, data: u16Bytes(bits)).write(to: URL(fileURLWithPath: path("h.safetensors")))
        assertSameBits(try XCTUnwrap(SafeTensors.read(contentsOf: path("h.safetensors"))["t"]).data, expected)
    }

    func testFloat16Conversion_matchesTheHardwareForEveryBitPattern() throws {
        #if arch(x86_64) && os(macOS)
        throw XCTSkip("Float16 is unavailable on macOS x86_64")
        #else
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = SafeTensors.float(fromFloat16: bits)
            if expected.isNaN {
                XCTAssertTrue(actual.isNaN, "0x\(String(bits, radix: 16))")
            } else if actual.bitPattern != expected.bitPattern {
                XCTFail("0x\(String(bits, radix: 16)): expected \(expected), got \(actual)")
                return
            }
        }
        #endif
    }

    func testRead_f32AtAnUnalignedOffset_readsTheRightValues() throws {
        // Third-party writers need not pad the header, so the floats may start at any byte.
        let header = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} "#
        XCTAssertNotEqual((8 + header.utf8.count) % 4, 0)
        try safetensorsBytes(header: header, data: f32Bytes([1.5, -7])).write(to: URL(fileURLWithPath: path("u.safetensors")))
        XCTAssertEqual(try SafeTensors.read(contentsOf: path("u.safetensors")), ["x": HostTensor(shape: [2], data: [1.5, -7])])
    }

    func testReadHeader_listsEntriesInFileOrder() throws {
        let header = #"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#
        try safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)).write(to: URL(fileURLWithPath: path("h.safetensors")))
        let read = try SafeTensors.readHeader(contentsOf: path("h.safetensors"))
        XCTAssertEqual(read.entries, [
            SafeTensorsEntry(name: "a", dtype: .bf16, shape: [2], dataOffsets: 0..<4),
            SafeTensorsEntry(name: "b", dtype: .f32, shape: [1], dataOffsets: 4..<8),
        ])
    }

    func testRead_eachMalformedFile_throwsAnErrorNamingTheFileAndTensor() throws {
        func entry(_ name: String, _ dtype: String = "F32", shape: String = "[1]", offsets: String = "[0,4]") -> String {
            #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
        }
        let cases: [(label: String, bytes: Data, code: CheckpointError.Code, mentions: [String])] = [
            ("tooShort", Data([1, 2, 3]), .malformed, ["3 bytes", "too short"]),
            ("headerPastEnd", safetensorsBytes(header: "{}", declaredLength: 1000), .malformed, ["header length 1000", "past the end"]),
            ("hugeHeader", safetensorsBytes(header: "{}", declaredLength: .max), .malformed, ["exceeds"]),
            ("badJSON", safetensorsBytes(header: #"{"w":{"dtype":"F32","#), .malformed, ["not valid JSON"]),
            ("notObject", safetensorsBytes(header: "[1,2]"), .malformed, ["should be a JSON object"]),
            ("f64", safetensorsBytes(header: "{\(entry("w", "F64", offsets: "[0,8]"))}", data: .init(repeating: 0, count: 8)), .unsupported, ["'w'", "F64"]),
            ("i64", safetensorsBytes(header: "{\(entry("ids", "I64", offsets: "[0,8]"))}", data: .init(repeating: 0, count: 8)), .unsupported, ["'ids'", "I64"]),
            ("missingDtype", safetensorsBytes(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: f32Bytes([1])), .missing, ["'w'", "dtype"]),
            ("dtypeNotString", safetensorsBytes(header: #"{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: f32Bytes([1])), .invalidValue, ["'w'", "dtype"]),
            ("shapeNotArray", safetensorsBytes(header: "{\(entry("w", shape: "3"))}", data: f32Bytes([1])), .invalidValue, ["'w'", "shape"]),
            ("negativeDim", safetensorsBytes(header: "{\(entry("w", shape: "[-1]"))}", data: f32Bytes([1])), .invalidValue, ["'w'", "shape"]),
            ("offsetsNotPair", safetensorsBytes(header: "{\(entry("w", offsets: "[0,4,8]"))}", data: f32Bytes([1])), .invalidValue, ["'w'", "data_offsets"]),
            ("offsetsReversed", safetensorsBytes(header: "{\(entry("w", offsets: "[4,0]"))}", data: f32Bytes([1])), .invalidValue, ["'w'", "data_offsets"]),
            ("offsetsPastEnd", safetensorsBytes(header: "{\(entry("w", shape: "[2]", offsets: "[0,8]"))}", data: f32Bytes([1])), .malformed, ["'w'", "past the end", "truncated"]),
            ("sizeMismatch", safetensorsBytes(header: "{\(entry("w", shape: "[3]", offsets: "[0,8]"))}", data: f32Bytes([1, 2])), .invalidValue, ["'w'", "needs 12"]),
            ("overlap", safetensorsBytes(header: "{\(entry("a", shape: "[2]", offsets: "[0,8]")),\(entry("b", shape: "[2]", offsets: "[4,12]"))}", data: f32Bytes([1, 2, 3])), .invalidValue, ["'b'", "overlap", "'a'"]),
            ("gap", safetensorsBytes(header: "{\(entry("a")),\(entry("b", offsets: "[8,12]"))}", data: f32Bytes([1, 2, 3])), .invalidValue, ["'b'", "unused"]),
            ("trailingBytes", safetensorsBytes(header: "{\(entry("a"))}", data: f32Bytes([1, 2])), .malformed, ["8 bytes", "cover 4"]),
            ("entryNotObject", safetensorsBytes(header: #"{"w":5}"#), .invalidValue, ["'w'", "expected an object"]),
            ("metadataNotStrings", safetensorsBytes(header: #"{"__metadata__":{"format":1}}"#), .invalidValue, ["'__metadata__.format'", "expected a string"]),
        ]
        for (label, bytes, code, mentions) in cases {
            let file = path("\(label).safetensors")
            try bytes.write(to: URL(fileURLWithPath: file))
            assertCheckpointError(code, mentions: [file] + mentions, label) {
                _ = try SafeTensors.read(contentsOf: file)
            }
        }
    }

    func testRead_whenFileIsMissingOrADirectory_throwsNamingIt() {
        assertCheckpointError(.notFound, mentions: [path("nope.safetensors")]) {
            _ = try SafeTensors.read(contentsOf: path("nope.safetensors"))
        }
        assertCheckpointError(.invalidValue, mentions: [dir, "not a regular file"]) {
            _ = try SafeTensors.read(contentsOf: dir)
        }
    }
}
