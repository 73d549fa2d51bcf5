import Model

/// The activations a trainer or a scoring role reuses from step to step, so that a step
/// allocates nothing once the largest batch has been seen.
///
/// One training set, sized for the largest (B, T) met so far and reshaped for smaller batches
/// (a run's padded lengths vary from batch to batch: one set per shape held several copies of
/// the largest), and one scoring set for `scoringRows` rows at a time, with no backward buffers
/// and its layers sharing theirs (`TrainingActivations(forScoring:)`). No (N, V) logits buffer
/// is allocated: the LM head runs in chunks (`keepLogits: false`), and score heads need none.
public final class ActivationPool {
    private let model: Llama
    private var training: TrainingActivations?
    private var scoring: TrainingActivations?
    /// Rows scored at a time by `forEachScoringChunk`: enough for sgemm to run at full speed
    /// (16 rows of a padded length of at least 16 make 256 or more rows of each product),
    /// few enough that a chunk's activations stay small beside the weights.
    public let scoringRows: Int

    /// - Parameters:
    ///   - model: the model the activations are for (any model of the same configuration may use them).
    ///   - scoringRows: rows per scoring chunk.
    public init(model: Llama, scoringRows: Int = 16) {
        self.model = model
        self.scoringRows = max(1, scoringRows)
    }

    /// Training activations for a (B, T) batch: the held set reshaped, or a larger one.
    public func activations(B: Int, T: Int) -> TrainingActivations {
        Self.fit(&training, B: B, T: T) { TrainingActivations(model: model, B: $0, T: $1, withLogits: false) }
    }

    /// Scoring activations (forward only) for a (B, T) chunk.
    public func scoringActivations(B: Int, T: Int) -> TrainingActivations {
        Self.fit(&scoring, B: B, T: T) { TrainingActivations(model: model, B: $0, T: $1, withLogits: false, forScoring: true) }
    }

    /// Runs `body` on consecutive chunks of at most `scoringRows` rows of `batch`, each with the
    /// scoring activations of its shape: the chunk's own (B, T) layout, made by `ModelBatch.rows`.
    public func forEachScoringChunk(_ batch: ModelBatch, _ body: (_ rows: Range<Int>, _ chunk: ModelBatch, _ acts: TrainingActivations) throws -> Void) rethrows {
        for start in stride(from: 0, to: batch.B, by: scoringRows) {
            let rows = start..<min(start + scoringRows, batch.B)
            let chunk = rows.count == batch.B ? batch : batch.rows(rows)
            try body(rows, chunk, scoringActivations(B: chunk.B, T: chunk.T))
        }
    }

    private static func fit(_ held: inout TrainingActivations?, B: Int, T: Int,
                            make: (Int, Int) -> TrainingActivations) -> TrainingActivations {
        if let acts = held, acts.reshape(B: B, T: T) { return acts }
        let shape = (B: max(B, held?.capacityB ?? 0), T: max(T, held?.capacityT ?? 0))
        held = nil  // freed before the larger set is made, so the two never coexist
        let acts = make(shape.B, shape.T)
        _ = acts.reshape(B: B, T: T)
        held = acts
        return acts
    }
}
