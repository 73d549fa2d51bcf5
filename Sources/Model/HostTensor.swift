/// A Float32 tensor in host memory, row-major and contiguous: the unit checkpoint files are read
/// into and written from. Model code copies these into its own parameter buffers.
public struct HostTensor: Sendable, Equatable {
    /// Dimensions, outermost first; `[]` is a scalar (one element), as safetensors allows.
    public var shape: [Int]
    /// `count` elements in row-major order.
    public var data: [Float]

    /// Creates a tensor from its shape and row-major elements.
    ///
    /// A shape that does not match the element count is a programming error, so it traps rather
    /// than throws; file readers check sizes themselves and report the file and tensor.
    /// - Parameters:
    ///   - shape: non-negative dimensions.
    ///   - data: exactly `shape.reduce(1, *)` elements.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "HostTensor: negative dimension in shape \(shape)")
        let expected = HostTensor.elementCount(of: shape)
        precondition(
            expected == data.count,
            "HostTensor: shape \(shape) holds \(String(describing: expected)) elements but data has \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of the given shape with every element equal to `value`.
    /// - Parameters:
    ///   - shape: non-negative dimensions.
    ///   - value: the element value.
    public init(shape: [Int], repeating value: Float) {
        precondition(shape.allSatisfy { $0 >= 0 }, "HostTensor: negative dimension in shape \(shape)")
        guard let count = HostTensor.elementCount(of: shape) else {
            preconditionFailure("HostTensor: shape \(shape) has too many elements")
        }
        self.init(shape: shape, data: [Float](repeating: value, count: count))
    }

    /// The number of elements the shape describes (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// The product of the dimensions, or nil when it overflows `Int` (only hostile headers do that).
    static func elementCount(of shape: [Int]) -> Int? {
        var product = 1
        for dim in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            product = next
        }
        return product
    }
}
