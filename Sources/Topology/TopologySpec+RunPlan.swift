import Foundation
import Model
import Roles

extension TopologySpec {
    /// The plan every process of the run builds from this topology: the same endpoints, seeds
    /// and settings in each, so they agree without talking. Paths are read as the validator
    /// reads them (`~` expanded, relative ones from `baseDirectory`, nil: the current directory).
    public func runPlan(baseDirectory: String? = nil) throws -> RunPlan {
        func path(_ p: String) -> String { TopologyPath.resolve(p, against: baseDirectory) }
        var endpoints: [RoleName: String] = [:]
        for role in activeRoles { endpoints[role] = endpoint(for: role) }
        var replicaEndpoints: [RoleName: [String]] = [:]
        for role in activeRoles where replicas(of: role) > 1 {
            replicaEndpoints[role] = (0..<replicas(of: role)).map { endpoint(for: role, replica: $0) }
        }
        let reward: RunPlan.Reward = switch models.reward {
        case .model(let p): .model(path: path(p))
        case .rule: .demoRules
        case .program(let command, let timeout): .program(command: command, timeoutSeconds: timeout)
        }
        var plan = RunPlan(runID: run.name, directory: path(run.directory), actorModel: path(models.actorPath),
                           referenceModel: path(models.referencePath), reward: reward,
                           criticModel: algorithm.usesCritic ? models.criticPath.map(path) : nil,
                           promptsFile: path(data.prompts), endpoints: endpoints)
        plan.replicaEndpoints = replicaEndpoints
        plan.seed = run.seed
        plan.reportToTensorBoard = run.reportTo.contains { $0 == "tensorboard" || $0 == "all" }
        plan.algorithm = algorithm
        plan.evalPromptsFile = data.evalPrompts.map(path)
        plan.ptxFile = data.ptx.map(path)
        plan.promptTemplate = data.promptTemplate
        plan.iterations = schedule.iterations
        plan.saveEvery = schedule.saveEvery > 0 ? schedule.saveEvery : schedule.iterations
        plan.evalEvery = schedule.evalEvery
        plan.evalPrompts = schedule.evalSize
        plan.logEvery = max(1, schedule.logEvery)
        plan.requestTimeoutSeconds = transport.requestTimeoutSeconds
        plan.probeIntervalSeconds = transport.probeIntervalSeconds
        plan.silenceLimitSeconds = transport.silenceLimitSeconds
        plan.coordinatorSilenceLimitSeconds = transport.coordinatorSilenceLimitSeconds
        for (role, spec) in roles {
            plan.restarts[role] = spec.restarts ?? (TopologyValidator.replicable.contains(role) ? RoleSpec.defaultRestarts : 0)
        }
        if let lora = models.actorLoRA {
            let targets: [LoRATarget] = lora.targetModules == ["all-linear"]
                ? LoRATarget.allCases : lora.targetModules.compactMap(LoRATarget.init(rawValue:))
            let config = LoRAConfig(r: lora.r, alpha: lora.alpha, dropout: lora.dropout, targetModules: targets,
                                    baseModelNameOrPath: models.actorPath)
            try config.validate()
            plan.actorLoRA = config
        }
        for (role, spec) in roles {
            plan.hosts[role] = spec.host
            plan.threads[role] = spec.threads
            plan.cores[role] = spec.cores
        }
        return plan
    }
}
