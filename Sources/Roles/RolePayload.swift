import Training

/// A role request or reply taken apart for the wire: its kind, a few scalar fields, and named
/// arrays that travel as raw tensor frames. `RoleCodec` maps requests and replies to and from it;
/// the messaging layer maps it to a ZeroMQ message.
public struct RolePayload: Sendable, Equatable {
    public enum Array: Sendable, Equatable {
        case f32([Float], shape: [Int])
        case i32([Int32], shape: [Int])
        case u8([UInt8], shape: [Int])

        var shape: [Int] {
            switch self {
            case .f32(_, let s), .i32(_, let s), .u8(_, let s): s
            }
        }
    }

    public var kind: String
    public var integers: [String: Int] = [:]
    public var numbers: [String: Double] = [:]
    public var strings: [String: String] = [:]
    public var arrays: [String: Array] = [:]

    public init(kind: String) { self.kind = kind }

    // MARK: - Reading, with errors that name the field

    func integer(_ name: String) throws -> Int {
        guard let v = integers[name] else { throw missing(name, "an integer") }
        return v
    }

    func string(_ name: String) throws -> String {
        guard let v = strings[name] else { throw missing(name, "a string") }
        return v
    }

    func floats(_ name: String, count: Int) throws -> [Float] {
        guard case .f32(let v, _)? = arrays[name] else { throw missing(name, "a float32 tensor") }
        guard v.count == count else { throw RoleError(.badInput, "\(kind): \(name) has \(v.count) values, expected \(count)") }
        return v
    }

    func ints(_ name: String, count: Int? = nil) throws -> [Int32] {
        guard case .i32(let v, _)? = arrays[name] else { throw missing(name, "an int32 tensor") }
        if let count, v.count != count { throw RoleError(.badInput, "\(kind): \(name) has \(v.count) values, expected \(count)") }
        return v
    }

    func bytes(_ name: String, count: Int) throws -> [UInt8] {
        guard case .u8(let v, _)? = arrays[name] else { throw missing(name, "a uint8 tensor") }
        guard v.count == count else { throw RoleError(.badInput, "\(kind): \(name) has \(v.count) values, expected \(count)") }
        return v
    }

    private func missing(_ name: String, _ what: String) -> RoleError {
        RoleError(.badInput, "\(kind): field \(name) is missing or not \(what)")
    }
}
