/// One contiguous, zero-initialised allocation of Float32, freed with its owner.
///
/// Parameters, gradients, optimizer moments and activations each live in one of these, cut into
/// views by offset, so hot loops work on raw pointers with no ARC traffic or bounds checks per
/// element, and a whole parameter set is one memcpy (or one message) away.
public final class FloatBuffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    @inline(__always) public subscript(offset: Int) -> UnsafeMutablePointer<Float> { pointer + offset }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
