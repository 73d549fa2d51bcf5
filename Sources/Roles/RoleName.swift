/// The services of step 3. Each runs as its own Swift actor, in its own process or beside others.
public enum RoleName: String, Sendable, Codable, CaseIterable, Comparable {
    /// Generates responses (the policy) and trains on experiences with the policy loss.
    case actor
    /// The frozen step-1 model: per-token log-probabilities for the KL penalty.
    case reference
    /// Scores responses: a step-2 reward model, the demo's rule checker, or an external program.
    case reward
    /// Per-token values, trained with the clipped value loss (PPO only).
    case critic
    /// The experience buffer and the coordinator: drives iterations, joins results, computes
    /// advantages, serves training batches, saves checkpoints.
    case buffer
    /// Optional: samples responses apart from the actor's trainer, in replicas that fetch each
    /// policy version from the actor. Without it the actor generates beside its trainer.
    case generator

    public static func < (a: RoleName, b: RoleName) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
