import Model

/// Training activations for the few batch shapes a run meets, reused from step to step so that
/// a step allocates nothing once each shape has been seen.
///
/// Keeps the `capacity` most recently used shapes; `ModelBatch` rounds lengths up so that the
/// shapes are few. No full (N, V) logits buffer is allocated: the trainers run the LM head in
/// chunks (`keepLogits: false`), and score heads need no logits.
public final class ActivationPool {
    private let model: Llama
    private let capacity: Int
    private var entries: [(B: Int, T: Int, acts: TrainingActivations)] = []

    /// - Parameters:
    ///   - model: the model the activations are for (any model of the same configuration may use them).
    ///   - capacity: shapes kept.
    public init(model: Llama, capacity: Int = 4) {
        self.model = model
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
        let acts = TrainingActivations(model: model, B: B, T: T, withLogits: false)
        entries.append((B, T, acts))
        return acts
    }
}
