import Foundation

/// Element types a tensor frame may carry (little-endian on the wire).
public enum TensorDType: String, Codable, Sendable, CaseIterable {
    case f32, i32, u8

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32, .i32: return 4
        case .u8: return 1
        }
    }
}

/// One tensor of a message: its name, element type, shape and raw bytes (one frame on the wire,
/// row-major, little-endian, no per-element encoding). Every initialiser checks that the byte count
/// is exactly product(shape) * dtype.size, so a `TensorFrame` that exists is consistent.
public struct TensorFrame: Sendable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    public let bytes: FrameBytes

    /// The most dimensions a tensor may have (a bound for hostile metadata).
    public static let maxRank = 8

    /// Wraps bytes already laid out; throws when their count does not match the shape.
    public init(name: String, dtype: TensorDType, shape: [Int], bytes: FrameBytes) throws {
        let expected = try Self.byteCount(dtype: dtype, shape: shape, name: name)
        guard expected == bytes.count else {
            throw MessagingError(.invalidTensor, "tensor '\(name)': shape \(shape) of \(dtype.rawValue) needs \(expected) bytes, got \(bytes.count)")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Copies `values` (one copy; the send then hands the buffer to zmq without another).
    public init(name: String, shape: [Int], floats values: UnsafeBufferPointer<Float>) throws {
        try self.init(name: name, dtype: .f32, shape: shape, bytes: Self.copyLittleEndian(values))
    }

    public init(name: String, shape: [Int], floats values: [Float]) throws {
        let bytes = values.withUnsafeBufferPointer { Self.copyLittleEndian($0) }
        try self.init(name: name, dtype: .f32, shape: shape, bytes: bytes)
    }

    /// A rank-1 tensor of `values`.
    public init(name: String, floats values: [Float]) throws { try self.init(name: name, shape: [values.count], floats: values) }

    public init(name: String, shape: [Int], int32s values: [Int32]) throws {
        let bytes = values.withUnsafeBufferPointer { Self.copyLittleEndian($0) }
        try self.init(name: name, dtype: .i32, shape: shape, bytes: bytes)
    }

    /// A rank-1 tensor of `values`.
    public init(name: String, int32s values: [Int32]) throws { try self.init(name: name, shape: [values.count], int32s: values) }

    public init(name: String, shape: [Int], uint8s values: [UInt8]) throws {
        try self.init(name: name, dtype: .u8, shape: shape, bytes: FrameBytes(values))
    }

    /// Elements in the tensor (product of the shape).
    public var elementCount: Int { shape.reduce(1, *) }  // checked not to overflow at init

    // MARK: - Reading back

    /// The values as [Float]; throws unless the dtype is f32.
    public func floats() throws -> [Float] {
        try expect(.f32)
        return readLittleEndian(Float.self)
    }

    /// The values as [Int32]; throws unless the dtype is i32.
    public func int32s() throws -> [Int32] {
        try expect(.i32)
        return readLittleEndian(Int32.self)
    }

    /// The values as [UInt8]; throws unless the dtype is u8.
    public func uint8s() throws -> [UInt8] {
        try expect(.u8)
        return bytes.array
    }

    /// Throws unless the tensor has this shape (a check for data from another process).
    public func expectShape(_ expected: [Int]) throws {
        guard shape == expected else { throw MessagingError(.invalidTensor, "tensor '\(name)': shape \(shape), expected \(expected)") }
    }

    private func expect(_ dtype: TensorDType) throws {
        guard self.dtype == dtype else {
            throw MessagingError(.invalidTensor, "tensor '\(name)' is \(self.dtype.rawValue), read as \(dtype.rawValue)")
        }
    }

    private func readLittleEndian<T: BitwiseCopyable>(_: T.Type) -> [T] {
        let n = bytes.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: n) { out, count in
            // Received frames need not be aligned for T: copy bytes, never bind memory.
            bytes.withUnsafeBytes { src in
                if n > 0 { UnsafeMutableRawBufferPointer(out).copyMemory(from: src) }
            }
            #if _endian(big)
            for i in 0..<n { out[i] = Self.swapped(out[i]) }
            #endif
            count = n
        }
    }

    private static func copyLittleEndian<T: BitwiseCopyable>(_ values: UnsafeBufferPointer<T>) -> FrameBytes {
        FrameBytes(count: values.count * MemoryLayout<T>.size) { dst in
            if !values.isEmpty { dst.copyMemory(from: UnsafeRawBufferPointer(values)) }
            #if _endian(big)
            let typed = dst.bindMemory(to: T.self)
            for i in typed.indices { typed[i] = swapped(typed[i]) }
            #endif
        }
    }

    #if _endian(big)
    private static func swapped<T>(_ v: T) -> T {
        var v = v
        withUnsafeMutableBytes(of: &v) { $0.reverse() }
        return v
    }
    #endif

    /// product(shape) * dtype.size, refusing negative dimensions, too many dimensions and
    /// products that overflow Int.
    static func byteCount(dtype: TensorDType, shape: [Int], name: String) throws -> Int {
        guard shape.count <= maxRank else {
            throw MessagingError(.invalidTensor, "tensor '\(name)': rank \(shape.count), at most \(maxRank)")
        }
        var total = dtype.size
        for d in shape {
            guard d >= 0 else { throw MessagingError(.invalidTensor, "tensor '\(name)': negative dimension in shape \(shape)") }
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else { throw MessagingError(.invalidTensor, "tensor '\(name)': shape \(shape) overflows Int") }
            total = p
        }
        return total
    }
}
