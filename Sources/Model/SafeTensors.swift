import Foundation

/// Element types this engine can read from a safetensors file; everything is converted to Float32.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// IEEE float32, read as is.
    case f32 = "F32"
    /// bfloat16 (float32's top 16 bits), what most HF checkpoints ship.
    case bf16 = "BF16"
    /// IEEE float16.
    case f16 = "F16"

    /// Bytes per element in the file.
    public var byteWidth: Int {
        switch self {
        case .f32: return 4
        case .bf16, .f16: return 2
        }
    }
}

/// One tensor as a safetensors header describes it.
public struct SafeTensorsEntry: Sendable, Equatable {
    /// The tensor name (HF names, e.g. `model.layers.0.self_attn.q_proj.weight`).
    public var name: String
    /// The element type in the file.
    public var dtype: SafeTensorsDType
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// Byte range within the data section, which starts right after the header.
    public var dataOffsets: Range<Int>

    /// Creates an entry.
    /// - Parameters:
    ///   - name: the tensor name.
    ///   - dtype: the element type in the file.
    ///   - shape: dimensions, outermost first.
    ///   - dataOffsets: byte range within the data section.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }
}

/// The header of a safetensors file: its tensors in file order and its `__metadata__`.
public struct SafeTensorsHeader: Sendable, Equatable {
    /// Tensors sorted by their position in the data section.
    public var entries: [SafeTensorsEntry]
    /// The string-to-string `__metadata__` map (empty when absent).
    public var metadata: [String: String]

    /// Creates a header.
    /// - Parameters:
    ///   - entries: tensors in data-section order.
    ///   - metadata: the `__metadata__` map.
    public init(entries: [SafeTensorsEntry], metadata: [String: String]) {
        self.entries = entries
        self.metadata = metadata
    }
}

/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON header, then the raw tensor bytes.
///
/// Reading is as strict as the reference implementation (offsets must tile the data section
/// exactly), so a file we accept is one transformers accepts, and a truncated or corrupt file is
/// reported with the file and tensor rather than loaded as garbage.
public enum SafeTensors {
    /// The reference implementation's limit; a larger length means a corrupt or foreign file.
    static let maxHeaderBytes = 100_000_000

    // MARK: - Reading

    /// Reads every tensor of a safetensors file, converting BF16 and F16 to Float32.
    /// - Parameter path: the `.safetensors` file.
    /// - Returns: tensors by name.
    /// - Throws: ``CheckpointError`` naming the file, and the tensor where there is one.
    public static func read(contentsOf path: String) throws -> [String: HostTensor] {
        let file = try MappedFile(path: path)
        let header = try parseHeader(file.bytes, path: path)
        return decodeTensors(file.bytes, header: header)
    }

    /// Reads only the header (names, dtypes, shapes, metadata), without converting any data.
    /// - Parameter path: the `.safetensors` file.
    /// - Throws: ``CheckpointError`` naming the file, and the tensor where there is one.
    public static func readHeader(contentsOf path: String) throws -> SafeTensorsHeader {
        let file = try MappedFile(path: path)
        return try parseHeader(file.bytes, path: path)
    }

    /// bfloat16 is the top half of a float32, so widening is a shift; NaN payloads survive.
    /// - Parameter bits: the bfloat16 bit pattern.
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// IEEE 754 binary16 to float32, exact for every input including subnormals, infinities
    /// and NaNs. Written out rather than through `Float16`, which Swift lacks on macOS x86_64.
    /// - Parameter bits: the float16 bit pattern.
    public static func float(fromFloat16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa * 2^-24, exactly representable in float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            // Infinity (mantissa 0) or NaN (payload kept in the top mantissa bits).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            // Rebias the exponent from 15 to 127.
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> SafeTensorsHeader {
        guard bytes.count >= 8 else {
            throw CheckpointError(
                .malformed, path: path,
                "file is \(bytes.count) bytes, too short for the 8-byte header length of a safetensors file")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(maxHeaderBytes) else {
            throw CheckpointError(
                .malformed, path: path, "header length \(declared) exceeds the \(maxHeaderBytes)-byte limit")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= bytes.count else {
            throw CheckpointError(
                .malformed, path: path,
                "header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let json = try JSONObject.parse(Data(bytes[8..<(8 + headerLength)]), path: path, what: "header")
        let dataSize = bytes.count - 8 - headerLength

        var metadata: [String: String] = [:]
        if let raw = json.values["__metadata__"] {
            guard let object = raw as? [String: Any] else {
                throw json.wrongType("__metadata__", "an object of strings", raw)
            }
            for (key, value) in object {
                guard let string = value as? String else {
                    throw CheckpointError(
                        .invalidValue, path: path, field: "__metadata__.\(key)",
                        "expected a string, found \(describe(value))")
                }
                metadata[key] = string
            }
        }

        var entries: [SafeTensorsEntry] = []
        for (name, raw) in json.values where name != "__metadata__" {
            entries.append(try parseEntry(name: name, raw: raw, dataSize: dataSize, path: path))
        }
        entries.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }

        // Offsets must tile the data section: no overlap (two tensors sharing bytes), no hole, no
        // tail. The reference reader refuses the same files, and a hole usually means corruption.
        var covered = 0
        var previous: String?
        for entry in entries {
            let range = entry.dataOffsets
            if range.lowerBound < covered {
                throw CheckpointError(
                    .invalidValue, path: path, field: entry.name,
                    "data_offsets [\(range.lowerBound), \(range.upperBound)] overlap tensor '\(previous ?? "")', which ends at \(covered)")
            }
            if range.lowerBound > covered {
                throw CheckpointError(
                    .invalidValue, path: path, field: entry.name,
                    "data_offsets start at \(range.lowerBound), leaving bytes \(covered)..<\(range.lowerBound) of the data section unused")
            }
            covered = range.upperBound
            previous = entry.name
        }
        guard covered == dataSize else {
            throw CheckpointError(
                .malformed, path: path,
                "the data section has \(dataSize) bytes but the tensors in the header cover \(covered)")
        }
        return SafeTensorsHeader(entries: entries, metadata: metadata)
    }

    private static func parseEntry(name: String, raw: Any, dataSize: Int, path: String) throws -> SafeTensorsEntry {
        func fail(_ code: CheckpointError.Code, _ message: String) -> CheckpointError {
            CheckpointError(code, path: path, field: name, message)
        }
        func invalid(_ message: String) -> CheckpointError { fail(.invalidValue, message) }
        guard let fields = raw as? [String: Any] else {
            throw invalid("expected an object with dtype, shape and data_offsets, found \(describe(raw))")
        }
        guard let dtypeValue = fields["dtype"] else { throw fail(.missing, "'dtype' is missing") }
        guard let dtypeName = dtypeValue as? String else {
            throw invalid("'dtype' should be a string, found \(describe(dtypeValue))")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail(.unsupported, "dtype \(dtypeName) is not supported (only F32, BF16 and F16 can be read)")
        }

        guard let shapeValue = fields["shape"] else { throw fail(.missing, "'shape' is missing") }
        guard let shapeArray = shapeValue as? [Any] else {
            throw invalid("'shape' should be an array of non-negative integers, found \(describe(shapeValue))")
        }
        var shape: [Int] = []
        for dim in shapeArray {
            guard let value = jsonInt(dim), value >= 0 else {
                throw invalid("'shape' should be an array of non-negative integers, found element \(describe(dim))")
            }
            shape.append(value)
        }

        guard let offsetsValue = fields["data_offsets"] else { throw fail(.missing, "'data_offsets' is missing") }
        guard let offsetsArray = offsetsValue as? [Any], offsetsArray.count == 2,
              let begin = jsonInt(offsetsArray[0]), let end = jsonInt(offsetsArray[1]),
              begin >= 0, begin <= end
        else {
            throw invalid("'data_offsets' should be [begin, end] with 0 <= begin <= end, found \(describe(offsetsValue))")
        }
        guard end <= dataSize else {
            throw fail(
                .malformed,
                "data_offsets [\(begin), \(end)] run past the end of the data section (\(dataSize) bytes); the file may be truncated")
        }

        guard let count = HostTensor.elementCount(of: shape),
              case (let byteCount, false) = count.multipliedReportingOverflow(by: dtype.byteWidth)
        else {
            throw invalid("shape \(shape) is too large")
        }
        guard end - begin == byteCount else {
            throw invalid(
                "data_offsets [\(begin), \(end)] span \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(byteCount)")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Converts the (already validated) entries to Float32 tensors.
    static func decodeTensors(_ bytes: UnsafeRawBufferPointer, header: SafeTensorsHeader) -> [String: HostTensor] {
        var tensors: [String: HostTensor] = [:]
        tensors.reserveCapacity(header.entries.count)
        forEachTensor(bytes, header: header) { entry, raw in
            let count = raw.count / entry.dtype.byteWidth
            let data = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                if count > 0 { decode(raw, dtype: entry.dtype, into: out.baseAddress!) }
                initialized = count
            }
            tensors[entry.name] = HostTensor(shape: entry.shape, data: data)
        }
        return tensors
    }

    /// Calls `body` with each entry and its raw bytes in the (parsed) file `bytes`.
    static func forEachTensor(_ bytes: UnsafeRawBufferPointer, header: SafeTensorsHeader,
                              _ body: (SafeTensorsEntry, UnsafeRawBufferPointer) throws -> Void) rethrows {
        let dataStart = bytes.count - (header.entries.last?.dataOffsets.upperBound ?? 0)
        for entry in header.entries {
            let range = (dataStart + entry.dataOffsets.lowerBound)..<(dataStart + entry.dataOffsets.upperBound)
            try body(entry, UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    /// Converts one tensor's raw little-endian bytes of `dtype` into `raw.count / width` floats at `out`.
    static func decode(_ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType, into out: UnsafeMutablePointer<Float>) {
        let count = raw.count / dtype.byteWidth
        switch dtype {
        case .f32:
            // The data section is not necessarily 4-byte aligned, hence the byte copy.
            if count > 0 { UnsafeMutableRawPointer(out).copyMemory(from: raw.baseAddress!, byteCount: 4 * count) }
            #if _endian(big)
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
            #endif
        case .bf16:
            for i in 0..<count {
                out[i] = float(fromBFloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .f16:
            for i in 0..<count {
                out[i] = float(fromFloat16: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        }
    }

    // MARK: - Writing

    /// Writes tensors as F32, sorted by name, atomically (temporary file, fsync, rename).
    ///
    /// `__metadata__` always carries `"format": "pt"` unless `metadata` sets `format` itself,
    /// because transformers refuses safetensors checkpoints without a known format.
    /// - Parameters:
    ///   - tensors: tensors by name; the names must not be empty or `__metadata__`.
    ///   - path: the destination file; its directory must exist.
    ///   - metadata: extra `__metadata__` entries.
    /// - Throws: ``CheckpointError`` naming the file (and tensor) on a bad tensor or I/O failure.
    public static func write(_ tensors: [String: HostTensor], to path: String, metadata: [String: String] = [:]) throws {
        let names = tensors.keys.sorted()
        var allMetadata = metadata
        if allMetadata["format"] == nil { allMetadata["format"] = "pt" }

        var header = "{\"__metadata__\":{"
        header += allMetadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(allMetadata[$0]!))" }.joined(separator: ",")
        header += "}"
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            guard !name.isEmpty, name != "__metadata__" else {
                throw CheckpointError(.invalidValue, path: path, field: name, "is not a valid tensor name")
            }
            guard tensor.shape.allSatisfy({ $0 >= 0 }), HostTensor.elementCount(of: tensor.shape) == tensor.data.count else {
                throw CheckpointError(
                    .invalidValue, path: path, field: name,
                    "shape \(tensor.shape) does not match its \(tensor.data.count) elements")
            }
            let end = offset + 4 * tensor.data.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            header += ",\(jsonQuoted(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        header += "}"
        // Padding to a multiple of 8 keeps the data section 8-byte aligned for readers that map
        // the file and use the floats in place, as the reference writer does.
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        try AtomicFile.write(to: path) { sink in
            var length = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink.write($0) }
            try headerBytes.withUnsafeBytes { try sink.write($0) }
            for name in names {
                #if _endian(big)
                let data = tensors[name]!.data.map { Float(bitPattern: $0.bitPattern.littleEndian) }
                #else
                let data = tensors[name]!.data
                #endif
                try data.withUnsafeBytes { try sink.write($0) }
            }
        }
    }
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
public func jsonQuoted(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
