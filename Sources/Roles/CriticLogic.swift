import Foundation
import Model
import Tokenization
import Training

/// The critic role: V(s_j) per response token, and the clipped value loss's updates.
///
/// Its version is the number of updates it made. A `values` request names the version that must
/// value its batch (`max(first, i - max_staleness)` for batch i), so a pipelined run gives the
/// same bits every time: the critic keeps its weights of the last `max_staleness` versions and
/// values with the one asked for; `CriticRole` holds back a request for a version not yet trained.
public final class CriticLogic: RoleLogic {
    public let role = RoleName.critic
    let trainer: ValueTrainer
    let companions: CompanionFiles
    let layout: CheckpointLayout
    /// How many older versions a `values` request may ask for.
    let keptVersions: Int
    /// The weights of recent versions before the current one, by version.
    private var snapshots: [Int: [Float]] = [:]
    /// Updates made since the start (restored with a checkpoint).
    public private(set) var version = 0

    public init(plan: RunPlan) throws {
        guard let path = plan.criticModel else { throw RoleError(.loading, "critic: the run names no critic model") }
        let loaded = try RoleModels.load(path, for: .critic)
        guard loaded.model.layout.head == .score(labels: 1) else {
            throw RoleError(.loading, "critic: \(path) is \(loaded.model.config.architecture) with head \(loaded.model.layout.head); start the critic from a step-2 reward model directory (a single-label sequence classifier)")
        }
        trainer = ValueTrainer(model: loaded.model, trainable: FullParameters(model: loaded.model), config: plan.algorithm,
                               padID: loaded.padID, totalUpdates: plan.plannedUpdates)
        companions = CompanionFiles(tokenizerPath: loaded.tokenizerPath, template: try ChatFormat.load(fromDirectory: path))
        layout = CheckpointLayout(runDirectory: plan.directory, savesAlone: plan.savesAlone(.critic))
        keptVersions = plan.algorithm.maxStaleness
    }

    /// The critic's parameters.
    public var trainable: any TrainableParameters { trainer.trainable }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        switch request {
        case .values(let batch, let version):
            try batch.validate(vocabSize: trainer.model.config.vocabSize)
            return .perToken(try values(of: batch, version: version))
        case .trainValue(let batch):
            try batch.validate(vocabSize: trainer.model.config.vocabSize)
            if keptVersions > 0 {
                snapshots[version] = trainer.trainable.values.array
                snapshots = snapshots.filter { $0.key > version - keptVersions }
            }
            let metrics = try trainer.update(batch)
            version += 1
            return .trained(metrics: metrics, version: version, digests: WeightDigest.of(trainer.trainable))
        case .save(let target):
            try layout.writePart(target, role: .critic) { try save(to: $0) }
            return .done
        case .restore(let iteration):
            try restore(from: try layout.savedPart(iteration: iteration, role: .critic), iteration: iteration)
            return .done
        default:
            throw RoleError(.badInput, "the critic does not answer \(request.kind)")
        }
    }

    /// V(s_j) by the weights of `requested`, the current version or one of the kept ones.
    private func values(of batch: ExperienceBatch, version requested: Int) throws -> [Float] {
        if requested == version { return try trainer.values(of: batch) }
        guard requested < version, let old = snapshots[requested] else {
            throw RoleError(.failed, "critic: asked for values by version \(requested) but holds version \(version) and keeps \(snapshots.keys.sorted().map(String.init).joined(separator: ", ").ifEmpty("no older ones"))")
        }
        // Swap the old weights in for one forward, then back: both on this thread, nothing else
        // reads the weights meanwhile.
        let weights = trainer.trainable.values
        let current = weights.array
        old.withUnsafeBufferPointer { weights.pointer.update(from: $0.baseAddress!, count: $0.count) }
        defer { current.withUnsafeBufferPointer { weights.pointer.update(from: $0.baseAddress!, count: $0.count) } }
        return try trainer.values(of: batch)
    }

    private var files: TrainerCheckpointFiles {
        TrainerCheckpointFiles(trainable: trainer.trainable, optimizer: trainer.optimizer, companions: companions,
                               versionFile: "value_version")
    }

    /// Writes the critic (HF layout), its tokenizer and chat template, the optimizer state, its
    /// version and its kept older versions (`history.safetensors`) into `directory`.
    public func save(to directory: String) throws {
        try files.save(to: directory, version: version)
        try WeightHistory.save(snapshots, to: directory)
    }

    /// Loads what `save(to:)` wrote. A checkpoint written before the critic kept its version
    /// has none: the critic updates once per iteration, so it is the checkpoint's iteration.
    public func restore(from directory: String, iteration: Int) throws {
        version = try files.restore(from: directory) ?? iteration
        snapshots = try WeightHistory.load(from: directory, count: trainer.trainable.values.count)
    }
}

private extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
