import Training

/// What one iteration's trainers consumed and what came of it: the batch with every field the
/// buffer derived, the seeds and β that made it, the trainers' figures, and digests of the
/// weights after the update (so a replay can check it reproduces the update bit for bit).
public struct ExperienceRecord: Sendable, Equatable {
    public var batch: ExperienceBatch
    /// β of the KL penalty when the batch was generated.
    public var klCoef: Double
    /// The run's seed and the seed the generator sampled this batch with.
    public var runSeed: UInt64
    public var generationSeed: UInt64
    /// The policy version after the actor's update on this batch.
    public var policyVersionAfter: Int
    /// The trainers' figures for this batch (losses, clip fractions, grad norms, rates).
    public var trained: [String: Double]
    /// Digests of the trainable tensors after the update, by role ("actor", "critic").
    public var digests: [String: [TensorDigest]]

    public init(batch: ExperienceBatch, klCoef: Double, runSeed: UInt64, generationSeed: UInt64, policyVersionAfter: Int,
                trained: [String: Double], digests: [String: [TensorDigest]]) {
        self.batch = batch
        self.klCoef = klCoef
        self.runSeed = runSeed
        self.generationSeed = generationSeed
        self.policyVersionAfter = policyVersionAfter
        self.trained = trained
        self.digests = digests
    }
}

/// Where every batch the trainers consumed goes, in the order they consumed it: the experience
/// log (module Replay), or a test's collector.
public protocol ExperienceRecorder: Sendable {
    /// Called once before the first record: a run resumed at `iteration` drops what an
    /// interrupted run recorded from that iteration on (it will be done again).
    func start(at iteration: Int) async throws
    /// Appends one iteration's record.
    func record(_ record: ExperienceRecord) async throws
    /// A checkpoint of iteration `iteration` was just saved: what is recorded up to it is made
    /// durable, so a resume from that checkpoint never finds the log behind it.
    func checkpointed(iteration: Int) async throws
}
