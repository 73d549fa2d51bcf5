/// The five roles of step 3, in the fixed order that numbers their TCP ports
/// (`transport.base_port + index`) and orders their start.
public enum TopologyRole: String, Sendable, CaseIterable, Codable, Comparable {
    /// Generates answers and trains the policy.
    case actor
    /// The frozen SFT model: log-probabilities for the KL penalty.
    case reference
    /// Scores answers: a reward model, a rule or a program.
    case reward
    /// The value model (PPO only).
    case critic
    /// The experience buffer and the coordinator of iterations.
    case buffer

    /// Position in the fixed order: actor 0, reference 1, reward 2, critic 3, buffer 4.
    public var index: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: TopologyRole, b: TopologyRole) -> Bool { a.index < b.index }
}
