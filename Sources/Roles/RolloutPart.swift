import Training

/// What a generator replica answers for its part of a batch: the sampled responses, each
/// token's behaviour log-probability and whether a stop token ended it, in the part's row order.
/// The coordinator joins the parts by row into the batch (`ExperienceBatch(request:rollout:)`).
public struct RolloutPart: Sendable, Equatable {
    public var responses: [[Int32]]
    public var behaviourLogProbs: [[Float]]
    public var ended: [Bool]
    /// The policy's padding token, which pads the joined batch.
    public var padID: Int32

    public init(responses: [[Int32]], behaviourLogProbs: [[Float]], ended: [Bool], padID: Int32) {
        self.responses = responses
        self.behaviourLogProbs = behaviourLogProbs
        self.ended = ended
        self.padID = padID
    }

    /// The parts in order, as one.
    public static func joined(_ parts: [RolloutPart]) -> RolloutPart {
        RolloutPart(responses: parts.flatMap(\.responses), behaviourLogProbs: parts.flatMap(\.behaviourLogProbs),
                    ended: parts.flatMap(\.ended), padID: parts.first?.padID ?? 0)
    }
}

extension ExperienceBatch {
    /// The batch `request` asked for, from its rollout: every prompt repeated
    /// `samplesPerPrompt` times, padded to the longest prompt and response; the recomputed
    /// log-probabilities are still to be filled in.
    /// - Throws: `RoleError(.badInput)` when the rollout does not have a row per sample, or a
    ///   row's log-probabilities do not match its response.
    public init(request r: GenerateRequest, rollout: RolloutPart, from source: String) throws {
        let rows = r.prompts.count * r.samplesPerPrompt
        guard rollout.responses.count == rows, rollout.behaviourLogProbs.count == rows, rollout.ended.count == rows,
              zip(rollout.responses, rollout.behaviourLogProbs).allSatisfy({ $0.count == $1.count }) else {
            throw RoleError(.badInput, "\(source) answered batch \(r.batchID) with a rollout of \(rollout.responses.count) responses (log-probabilities not matching them, or not \(rows) rows)")
        }
        let prompts = r.prompts.flatMap { [[Int32]](repeating: $0, count: r.samplesPerPrompt) }
        self.init(prompts: prompts, responses: rollout.responses, padID: rollout.padID, batchID: r.batchID,
                  iteration: r.iteration, policyVersion: r.policyVersion, groupSize: r.samplesPerPrompt)
        for b in 0..<B {
            for (j, lp) in rollout.behaviourLogProbs[b].enumerated() { behaviourLogProbs[b * responseWidth + j] = lp }
            ended[b] = rollout.ended[b] ? 1 : 0
        }
    }
}

/// A chunk of a policy version's weights on its way from the actor's trainer to a generator:
/// values `index * chunkValues ..< ` of the trainable block (the whole model, or only LoRA's
/// adapters), with a checksum of the whole block so the generator knows the chunks it joined
/// are the trainer's bits.
public struct WeightsChunk: Sendable, Equatable {
    public var version: Int
    public var index: Int
    /// Chunks in all, and values in all.
    public var count: Int
    public var total: Int
    public var adaptersOnly: Bool
    /// `WeightDigest.digest` of the whole block.
    public var checksum: UInt64
    public var values: [Float]
    /// Seconds the actor held the request back until the version was trained (so the
    /// hand-over's own time can be told from the wait for the update).
    public var waitedSeconds: Double = 0

    /// Values per chunk: 4 MiB, small enough that a chunk in flight never holds up the actor's
    /// other answers for long, large enough that the per-message cost is negligible.
    public static let chunkValues = 1 << 20

    public init(version: Int, index: Int, count: Int, total: Int, adaptersOnly: Bool, checksum: UInt64, values: [Float]) {
        self.version = version
        self.index = index
        self.count = count
        self.total = total
        self.adaptersOnly = adaptersOnly
        self.checksum = checksum
        self.values = values
    }
}
