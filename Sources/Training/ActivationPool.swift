import Model

/// Training activations for the few batch shapes a run meets, reused from step to step so that
/// a step allocates nothing once each shape has been seen.
///
/// Keeps the `capacity` most recently used shapes; `ModelBatch` rounds lengths up so that the
/// shapes are few.
public final class ActivationPool {
    private let model: Llama
    private let withLogits: Bool
    private let capacity: Int
    private var entries: [(B: Int, T: Int, acts: TrainingActivations)] = []

    /// - Parameters:
    ///   - model: the model the activations are for (any model of the same configuration may use them).
    ///   - withLogits: false for score heads, which never need the (N, V) logits.
    ///   - capacity: shapes kept.
    public init(model: Llama, withLogits: Bool, capacity: Int = 4) {
        self.model = model
        self.withLogits = withLogits
        self.capacity = capacity
    }

    /// Activations for a (B, T) batch.
    public func activations(B: Int, T: Int) -> TrainingActivations {
        if let i = entries.firstIndex(where: { $0.B == B && $0.T == T }) {
            let entry = entries.remove(at: i)
            entries.append(entry)
            return entry.acts
        }
        if entries.count >= capacity { entries.removeFirst() }
        let acts = TrainingActivations(model: model, B: B, T: T, withLogits: withLogits)
        entries.append((B, T, acts))
        return acts
    }
}
