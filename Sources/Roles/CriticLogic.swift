import Foundation
import Model
import Tokenization
import Training

/// The critic role: V(s_j) per response token, and the clipped value loss's updates.
public final class CriticLogic: RoleLogic {
    public let role = RoleName.critic
    let trainer: ValueTrainer
    let companions: CompanionFiles

    public init(plan: RunPlan) throws {
        guard let path = plan.criticModel else { throw RoleError(.loading, "critic: the run names no critic model") }
        let loaded = try RoleModels.load(path, for: .critic)
        guard loaded.model.layout.head == .score(labels: 1) else {
            throw RoleError(.loading, "critic: \(path) is \(loaded.model.config.architecture) with head \(loaded.model.layout.head); start the critic from a step-2 reward model directory (a single-label sequence classifier)")
        }
        trainer = ValueTrainer(model: loaded.model, trainable: FullParameters(model: loaded.model), config: plan.algorithm,
                               padID: loaded.padID, totalUpdates: plan.plannedUpdates)
        companions = CompanionFiles(tokenizerPath: loaded.tokenizerPath, template: try ChatTemplate.load(fromDirectory: path))
    }

    /// The critic's parameters.
    public var trainable: any TrainableParameters { trainer.trainable }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        switch request {
        case .values(let batch):
            try batch.validate(vocabSize: trainer.model.config.vocabSize)
            return .perToken(try trainer.values(of: batch))
        case .trainValue(let batch):
            try batch.validate(vocabSize: trainer.model.config.vocabSize)
            let metrics = try trainer.update(batch)
            return .trained(metrics: metrics, version: 0, digests: WeightDigest.of(trainer.trainable))
        case .save(let directory):
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try trainer.trainable.save(to: directory)
            try companions.save(to: directory)
            try trainer.optimizer.save(toDirectory: directory)
            return .done
        case .restore(let directory):
            try trainer.trainable.restore(from: directory)
            try trainer.optimizer.restore(fromDirectory: directory)
            return .done
        default:
            throw RoleError(.badInput, "the critic does not answer \(request.kind)")
        }
    }
}
