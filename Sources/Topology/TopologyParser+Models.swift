import Model
import Training
import Yams

extension TopologyParser {
    // MARK: - models

    static func readModels(_ m: YAMLMapping?, top: YAMLMapping, algorithm: RLAlgorithmConfig) -> ModelSources? {
        guard let m else {
            top.diagnostics.add(.missing, at: nil, key: "models", "the models section is required (models.actor.path at least)")
            return nil
        }
        m.refuseUnknownKeys(["actor", "reference", "reward", "critic"])
        guard let actor = m.mapping("actor") else {
            if m.value("actor") == nil { m.fail(.missing, "actor", "required: actor.path, the SFT model the policy starts from") }
            return nil
        }
        actor.refuseUnknownKeys(["path", "lora"])
        let actorPath = actor.string("path")
        if actorPath == nil, actor.value("path") == nil { actor.fail(.missing, "path", "required: the SFT model directory") }
        let lora = readLoRA(actor)

        let reference = m.mapping("reference")
        reference?.refuseUnknownKeys(["path"])
        let reward = readReward(m)

        let critic = m.mapping("critic")
        critic?.refuseUnknownKeys(["path"])
        var criticPath: String?
        if algorithm.usesCritic {
            criticPath = critic?.string("path") ?? reward?.modelPath
            if criticPath == nil, reward != nil {
                m.fail(.missing, "critic", "\(algorithm.algorithm.rawValue) trains a critic: give critic.path "
                    + "(a step-2 reward model directory); it defaults to the reward model's, but the reward here is not a model")
            }
        }
        guard let actorPath, let reward else { return nil }
        return ModelSources(actorPath: actorPath, actorLoRA: lora, referencePath: reference?.string("path") ?? actorPath,
                            reward: reward, criticPath: criticPath)
    }

    /// `lora: false`, `lora: true` (defaults) or `lora: {r, alpha, dropout, target_modules}`.
    private static func readLoRA(_ actor: YAMLMapping) -> LoRASettings? {
        guard let node = actor.value("lora") else { return nil }
        if node.scalar != nil {
            guard let on = actor.bool("lora") else { return nil }
            return on ? LoRASettings() : nil
        }
        guard let m = actor.mapping("lora") else { return nil }
        m.refuseUnknownKeys(["r", "alpha", "dropout", "target_modules"])
        var lora = LoRASettings()
        if let r = m.int("r") {
            if (1...LoRAConfig.maxRank).contains(r) { lora.r = r } else { m.fail(.invalidValue, "r", "must be from 1 to \(LoRAConfig.maxRank), got \(r)") }
        }
        lora.alpha = m.double("alpha") ?? lora.alpha
        if let dropout = m.double("dropout") {
            if (0..<1).contains(dropout) { lora.dropout = dropout } else { m.fail(.invalidValue, "dropout", "must be in [0, 1), got \(dropout)") }
        }
        if let single = m.value("target_modules")?.scalar?.string {
            lora.targetModules = [single]  // `target_modules: all-linear`
        } else if let targets = m.stringList("target_modules") {
            if targets.isEmpty { m.fail(.invalidValue, "target_modules", "must name at least one module, or all-linear") }
            lora.targetModules = targets
        }
        return lora
    }

    /// `reward:` exactly one of `path`, `rule`, `program`.
    private static func readReward(_ m: YAMLMapping) -> RewardSource? {
        guard let r = m.mapping("reward") else {
            if m.value("reward") == nil {
                m.fail(.missing, "reward", "required: reward.path (a reward model), reward.rule (demo-tasks) or reward.program")
            }
            return nil
        }
        let kinds = ["path", "rule", "program"]
        r.refuseUnknownKeys(kinds)
        let given = kinds.filter { r.has($0) }
        guard given.count == 1 else {
            r.fail(given.isEmpty ? .missing : .invalidValue, given.last ?? "path",
                   given.isEmpty ? "give one of path, rule, program" : "give one of path, rule, program, not \(given.joined(separator: " and "))")
            return nil
        }
        switch given[0] {
        case "path":
            return r.string("path").map { .model(path: $0) }
        case "rule":
            guard let rule = r.string("rule") else { return nil }
            guard RewardSource.knownRules.contains(rule) else {
                r.fail(.invalidValue, "rule", "unknown rule \"\(rule)\"; this build has: " + RewardSource.knownRules.joined(separator: ", "))
                return nil
            }
            return .rule(rule)
        default:
            guard let p = r.mapping("program") else { return nil }
            p.refuseUnknownKeys(["command", "timeout_seconds"])
            guard let command = p.stringList("command") else {
                if p.value("command") == nil { p.fail(.missing, "command", "required: the scorer's argv, e.g. [python3, score.py]") }
                return nil
            }
            if command.isEmpty { p.fail(.invalidValue, "command", "must name a program") ; return nil }
            let timeout = p.double("timeout_seconds") ?? 30
            if !(timeout > 0) { p.fail(.invalidValue, "timeout_seconds", "must be above 0, got \(timeout)") }
            return .program(command: command, timeoutSeconds: timeout)
        }
    }

    // MARK: - roles

    static let roleKeys = ["host", "device", "threads", "cores", "port", "replicas", "restarts"]

    static func readRoles(_ m: YAMLMapping?, top: YAMLMapping, hosts: [String: HostSpec], algorithm: RLAlgorithmConfig,
                          warnings: inout [String]) -> [TopologyRole: RoleSpec] {
        m?.refuseUnknownKeys(TopologyRole.allCases.map(\.rawValue))
        var roles: [TopologyRole: RoleSpec] = [:]
        for role in TopologyRole.allCases {
            if role == .critic, !algorithm.usesCritic {
                if m?.has("critic") == true {
                    warnings.append("roles.critic: \(algorithm.algorithm.rawValue) has no critic; this role is not started")
                }
                continue
            }
            // Optional: without it the actor generates beside its trainer.
            if role == .generator, m?.has("generator") != true { continue }
            let entry = m?.mapping(role.rawValue)
            entry?.refuseUnknownKeys(roleKeys)
            let name = role.rawValue
            var host = entry?.string("host")
            if host == nil {
                if hosts.count == 1 {
                    host = hosts.keys.first  // the only host
                } else {
                    let place = entry ?? m
                    let message = "no host: with several hosts (\(hosts.keys.sorted().joined(separator: ", "))) every role names one"
                    if let place { place.fail(.unknownHost, entry == nil ? name : "host", message) } else {
                        top.diagnostics.add(.unknownHost, at: nil, key: "roles.\(name).host", message)
                    }
                    continue
                }
            }
            roles[role] = RoleSpec(host: host!, device: entry?.string("device") ?? "cpu", threads: entry?.int("threads") ?? 1,
                                   cores: entry?.intList("cores"), port: entry?.int("port"), replicas: entry?.int("replicas") ?? 1,
                                   restarts: entry?.int("restarts"))
        }
        return roles
    }
}
