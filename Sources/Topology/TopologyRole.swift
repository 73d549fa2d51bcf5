import Roles

/// A topology's roles are the step-3 roles themselves: their fixed order numbers their TCP
/// ports (`transport.base_port + index`) and orders their start.
public typealias TopologyRole = RoleName

extension RoleName {
    /// Position in the fixed order: actor 0, reference 1, reward 2, critic 3, buffer 4.
    public var index: Int { Self.allCases.firstIndex(of: self)! }
}
