import Model
import Training

/// The reference role: the frozen step-1 model's log-probabilities of each response token.
public final class ReferenceLogic: RoleLogic {
    public let role = RoleName.reference
    let model: Llama
    let pool: ActivationPool
    let padID: Int
    let temperature: Double
    let sharePrompts: Bool

    public init(plan: RunPlan) throws {
        let loaded = try RoleModels.load(plan.referenceModel, for: .reference)
        model = loaded.model
        pool = ActivationPool(model: model)
        padID = loaded.padID
        temperature = plan.algorithm.temperature
        sharePrompts = plan.algorithm.sharePrompts
    }

    public func handle(_ request: RoleRequest) throws -> RoleReply {
        guard case .referenceLogProbs(let batch) = request else {
            throw RoleError(.badInput, "the reference does not answer \(request.kind)")
        }
        try batch.validate(vocabSize: model.config.vocabSize)
        // At the sampling temperature, as the actor's: the KL compares the same distributions.
        return .perToken(try batch.logProbs(under: model, pool: pool, padID: padID, temperature: temperature, sharePrompts: sharePrompts))
    }
}
