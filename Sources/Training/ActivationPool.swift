import Model

/// The activations a trainer or a scoring role reuses from step to step, so that a step
/// allocates nothing once the largest batch has been seen.
///
/// One training set, sized for the largest (B, T) met so far and reshaped for smaller batches
/// (a run's padded lengths vary from batch to batch: one set per shape held several copies of
/// the largest), and one scoring set for a chunk of rows at a time, with no backward buffers
/// and its layers sharing theirs (`TrainingActivations(forScoring:)`). No (N, V) logits buffer
/// is allocated: the LM head runs in chunks (`keepLogits: false`), and score heads need none.
public final class ActivationPool {
    private let model: Llama
    private var training: TrainingActivations?
    private var scoring: TrainingActivations?
    /// Rows scored at a time by `forEachScoringChunk`, when fixed; nil: as many as
    /// `scoringBudgetBytes` of activations hold (`scoringChunkRows`).
    public let scoringRows: Int?

    /// What one scoring chunk's activations may take. Measured: a small model (5M parameters)
    /// scores 15% faster in one chunk of 64 rows than in chunks of 16 (fewer, larger products;
    /// Docs/benchmarks.md), while a 126M model's 16 rows already take 80 MiB. A budget gives
    /// each its share: the 5M model its whole batch, the 126M model about 24 rows.
    public static let scoringBudgetBytes = 128 << 20
    /// Never fewer rows than this per chunk, whatever the budget: 16 rows of a padded length of
    /// at least 16 make products of 256 or more rows, where sgemm runs at full speed.
    public static let minimumScoringRows = 16
    /// Held sets are made for lengths rounded up to a multiple of this (batches themselves are
    /// padded only to their longest row), so that a run whose lengths creep up a token at a time
    /// makes a few sets, not one per new length: each set freed stays with the allocator, which
    /// does not always hand it back, and a set per length put every role of a 4 MiB test model
    /// past its memory check (peaks of 114-120 MiB against limits of 98-104).
    public static let capacityLengthMultiple = 16

    /// The length a held set is made for, to hold batches of `T` positions.
    public static func capacityLength(_ T: Int, config: LlamaConfig) -> Int {
        let m = capacityLengthMultiple
        return max(T, min((T + m - 1) / m * m, config.maxPositionEmbeddings))
    }

    /// - Parameters:
    ///   - model: the model the activations are for (any model of the same configuration may use them).
    ///   - scoringRows: rows per scoring chunk; nil (the default) sizes chunks by `scoringBudgetBytes`.
    public init(model: Llama, scoringRows: Int? = nil) {
        self.model = model
        self.scoringRows = scoringRows.map { max(1, $0) }
    }

    /// Rows per scoring chunk of sequences padded to `T` for a model of configuration `config`:
    /// as many as fit in `scoringBudgetBytes`, at least `minimumScoringRows`. The memory plan
    /// counts a chunk of this size (`RoleMemoryPlan`).
    public static func scoringChunkRows(config: LlamaConfig, T: Int) -> Int {
        let one = TrainingActivations.bytes(config: config, B: 1, T: T, withLogits: false, forScoring: true, threads: 1)
        let two = TrainingActivations.bytes(config: config, B: 2, T: T, withLogits: false, forScoring: true, threads: 1)
        let perRow = max(1, two - one), fixed = one - perRow
        return max(minimumScoringRows, (scoringBudgetBytes - fixed) / perRow)
    }

    /// Training activations for a (B, T) batch: the held set reshaped, or a larger one.
    public func activations(B: Int, T: Int) -> TrainingActivations {
        Self.fit(&training, B: B, T: T, config: model.config) { TrainingActivations(model: model, B: $0, T: $1, withLogits: false) }
    }

    /// Scoring activations (forward only) for a (B, T) chunk.
    public func scoringActivations(B: Int, T: Int) -> TrainingActivations {
        scoringActivations(B: B, T: T, budgetRows: nil)
    }

    /// With `budgetRows`, a set that must grow is made for that many rows at its new length,
    /// not for the most rows met at any length (rows allowed at a shorter length would overrun
    /// the budget at a longer one).
    private func scoringActivations(B: Int, T: Int, budgetRows: Int?) -> TrainingActivations {
        if let budgetRows, let held = scoring, !(B <= held.capacityB && T <= held.capacityT) {
            scoring = nil
            let acts = TrainingActivations(model: model, B: max(B, budgetRows), T: Self.capacityLength(max(T, held.capacityT), config: model.config),
                                           withLogits: false, forScoring: true)
            _ = acts.reshape(B: B, T: T)
            scoring = acts
            return acts
        }
        return Self.fit(&scoring, B: B, T: T, config: model.config) { TrainingActivations(model: model, B: $0, T: $1, withLogits: false, forScoring: true) }
    }

    /// Runs `body` on consecutive chunks of `batch`'s rows, each with the scoring activations of
    /// its shape: the chunk's own (B, T) layout, made by `ModelBatch.rows`. Chunks hold
    /// `scoringRows` rows when fixed, else the rows the budget allows at the longest padded
    /// length met so far, so that the held set never grows past the budget as lengths vary.
    public func forEachScoringChunk(_ batch: ModelBatch, _ body: (_ rows: Range<Int>, _ chunk: ModelBatch, _ acts: TrainingActivations) throws -> Void) rethrows {
        let longest = max(batch.T, scoring?.capacityT ?? 0)
        let size = scoringRows ?? Self.scoringChunkRows(config: model.config, T: longest)
        for start in stride(from: 0, to: batch.B, by: size) {
            let rows = start..<min(start + size, batch.B)
            let chunk = rows.count == batch.B ? batch : batch.rows(rows)
            try body(rows, chunk, scoringActivations(B: chunk.B, T: chunk.T, budgetRows: scoringRows == nil ? size : nil))
        }
    }

    private static func fit(_ held: inout TrainingActivations?, B: Int, T: Int, config: LlamaConfig,
                            make: (Int, Int) -> TrainingActivations) -> TrainingActivations {
        if let acts = held, acts.reshape(B: B, T: T) { return acts }
        let shape = (B: max(B, held?.capacityB ?? 0), T: capacityLength(max(T, held?.capacityT ?? 0), config: config))
        held = nil  // freed before the larger set is made, so the two never coexist
        let acts = make(shape.B, shape.T)
        _ = acts.reshape(B: B, T: T)
        held = acts
        return acts
    }
}
