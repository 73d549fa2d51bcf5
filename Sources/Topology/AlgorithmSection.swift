import Foundation
import Model
import Training
import Yams

/// Reads `algorithm:` into an `RLAlgorithmConfig`: `name` (or `algorithm`) picks the method's
/// defaults first, then every other key overrides one field.
///
/// The keys are the config's stored properties in snake_case (`klCoef` -> `kl_coef`,
/// `missingEOSPenalty` -> `missing_eos_penalty`), found by reflection, so a field added to
/// `RLAlgorithmConfig` is a topology key at once; values go through its `Codable` conformance.
enum AlgorithmSection {
    /// A field of `RLAlgorithmConfig`: its Swift name, its key, and the kind of value it holds.
    struct Field {
        enum Kind { case double, int, bool, optionalDouble, text }
        var property: String
        var key: String
        var kind: Kind
    }

    /// Every field, in declaration order.
    static let fields: [Field] = Mirror(reflecting: RLAlgorithmConfig()).children.compactMap { child in
        guard let label = child.label else { return nil }
        let kind: Field.Kind
        // An optional set by default (reward_clip's 5) casts as a plain Double: ask the mirror.
        if Mirror(reflecting: child.value).displayStyle == .optional, child.value is Double? {
            return Field(property: label, key: snakeCase(label), kind: .optionalDouble)
        }
        switch child.value {
        case is Double: kind = .double
        case is Int: kind = .int
        case is Bool: kind = .bool
        default: kind = .text  // the String-backed enums (algorithm, kl_estimator)
        }
        return Field(property: label, key: snakeCase(label), kind: kind)
    }

    /// The keys `algorithm:` accepts (`name` is another spelling of `algorithm`).
    static var keys: [String] { ["name"] + fields.map(\.key) }

    /// `klCoef` -> `kl_coef`, `adaptiveKL` -> `adaptive_kl`, `missingEOSPenalty` -> `missing_eos_penalty`.
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var out = ""
        for (i, c) in chars.enumerated() {
            if c.isUppercase, i > 0 {
                let previousLower = chars[i - 1].isLowercase
                let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
                if previousLower || (chars[i - 1].isUppercase && nextLower) { out += "_" }
            }
            out += c.lowercased()
        }
        return out
    }

    /// Reads the section (absent: PPO's defaults).
    static func read(_ section: YAMLMapping?) -> RLAlgorithmConfig {
        guard let section else { return RLAlgorithmConfig() }
        section.refuseUnknownKeys(keys)
        if section.has("name"), section.has("algorithm") {
            section.fail(.duplicateKey, "algorithm", "'name' and 'algorithm' both given; they are the same key")
        }
        let nameKey = section.has("name") ? "name" : "algorithm"
        var config = RLAlgorithmConfig()
        if let name = section.string(nameKey) {
            if let algorithm = RLAlgorithmConfig.Algorithm(rawValue: name.lowercased()) {
                config = RLAlgorithmConfig(algorithm: algorithm)
            } else {
                section.fail(.invalidValue, nameKey, "unknown algorithm \"\(name)\"; expected one of "
                    + RLAlgorithmConfig.Algorithm.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }
        for field in fields where field.key != "algorithm" && section.has(field.key) {
            let value: Any?
            switch field.kind {
            case .double: value = section.double(field.key)
            case .int: value = section.int(field.key)
            case .bool: value = section.bool(field.key)
            case .optionalDouble:
                // null turns an optional setting off explicitly.
                value = section.value(field.key) == nil ? NSNull() : section.double(field.key)
            case .text: value = section.string(field.key)
            }
            guard let value else { continue }  // absent after all, or a fault already recorded
            do {
                config = try overriding(config, field.property, with: value)
            } catch {
                section.fail(.invalidValue, field.key, "\"\(value)\" is not accepted" + allowedValues(field.key))
            }
        }
        checkRanges(config, section)
        return config
    }

    /// `config` with one property replaced, through its JSON form.
    private static func overriding(_ config: RLAlgorithmConfig, _ property: String, with value: Any) throws -> RLAlgorithmConfig {
        let data = try JSONEncoder().encode(config)
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.coderReadCorrupt)
        }
        object[property] = value is NSNull ? nil : value
        return try JSONDecoder().decode(RLAlgorithmConfig.self, from: JSONSerialization.data(withJSONObject: object))
    }

    private static func allowedValues(_ key: String) -> String {
        switch key {
        case "kl_estimator": "; expected one of " + RLAlgorithmConfig.KLEstimator.allCases.map(\.rawValue).joined(separator: ", ")
        case "generation_precision": "; expected one of " + GenerationPrecision.allCases.map(\.rawValue).joined(separator: ", ")
        default: ""
        }
    }

    /// Values of the right type that no run can use.
    private static func checkRanges(_ c: RLAlgorithmConfig, _ section: YAMLMapping) {
        func require(_ ok: Bool, _ key: String, _ message: String) {
            if !ok { section.fail(.invalidValue, key, message) }
        }
        let positive: [(String, Int)] = [
            ("ppo_epochs", c.ppoEpochs), ("mini_batch_size", c.miniBatchSize),
            ("prompts_per_iteration", c.promptsPerIteration), ("samples_per_prompt", c.samplesPerPrompt),
            ("max_new_tokens", c.maxNewTokens), ("max_prompt_length", c.maxPromptLength),
        ]
        for (key, value) in positive { require(value >= 1, key, "must be at least 1, got \(value)") }
        if !c.usesCritic, c.samplesPerPrompt < 2 {
            require(false, "samples_per_prompt",
                    "\(c.algorithm.rawValue) compares answers within a group of the same prompt: needs at least 2, got \(c.samplesPerPrompt)")
        }
        if c.dynamicSamplingPrompts != 0 {
            require(!c.usesCritic, "dynamic_sampling_prompts", "is for GRPO and RLOO, whose groups of answers to one prompt can all score the same; \(c.algorithm.rawValue) has none")
            require(c.dynamicSamplingPrompts >= c.promptsPerIteration, "dynamic_sampling_prompts",
                    "prompts answered per iteration, of which the first prompts_per_iteration (\(c.promptsPerIteration)) groups with differing scores are kept: must be 0 (off) or at least \(c.promptsPerIteration), got \(c.dynamicSamplingPrompts)")
        }
        require(c.warmupSteps >= 0, "warmup_steps", "must not be negative, got \(c.warmupSteps)")
        require(c.lrDecayRatio > 0 && c.lrDecayRatio <= 1, "lr_decay_ratio", "must be in (0, 1], got \(c.lrDecayRatio)")
        require(c.topK >= 0, "top_k", "must not be negative (0 turns it off), got \(c.topK)")
        require(c.maxStaleness >= 0, "max_staleness", "must not be negative (0 is synchronous), got \(c.maxStaleness)")
        require(c.temperature > 0, "temperature", "must be above 0, got \(c.temperature)")
        require(c.topP > 0 && c.topP <= 1, "top_p", "must be in (0, 1], got \(c.topP)")
        require(c.gamma >= 0 && c.gamma <= 1, "gamma", "must be in [0, 1], got \(c.gamma)")
        require(c.lambda >= 0 && c.lambda <= 1, "lambda", "must be in [0, 1], got \(c.lambda)")
        require(c.klCoef >= 0, "kl_coef", "must not be negative, got \(c.klCoef)")
        require(c.policyClip > 0, "policy_clip", "must be above 0, got \(c.policyClip)")
        require(c.valueClip > 0, "value_clip", "must be above 0, got \(c.valueClip)")
        if let clip = c.rewardClip { require(clip > 0, "reward_clip", "must be above 0 (null turns it off), got \(clip)") }
        require(c.actorLearningRate > 0, "actor_learning_rate", "must be above 0, got \(c.actorLearningRate)")
        require(c.criticLearningRate > 0, "critic_learning_rate", "must be above 0, got \(c.criticLearningRate)")
        require(c.maxGradNorm >= 0, "max_grad_norm", "must not be negative (0 disables clipping), got \(c.maxGradNorm)")
        if let ema = c.actorEMA { require(ema > 0 && ema < 1, "actor_ema", "must be in (0, 1), got \(ema)") }
    }
}
