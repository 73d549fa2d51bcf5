import Foundation

// MARK: - Reading adapter_config.json

extension LoRAConfig {
    /// Reads PEFT's `adapter_config.json` and validates it.
    ///
    /// `target_modules` may list module names (`q_proj`, or suffixes such as `self_attn.q_proj`)
    /// or be `"all-linear"`; regular expressions and layer-specific paths are refused, as are
    /// options that change the computation in ways this engine does not implement.
    /// - Parameter path: `adapter_config.json`, or the directory that holds it.
    /// - Throws: ``CheckpointError`` naming the file and the field.
    public static func load(contentsOf path: String) throws -> LoRAConfig {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let file = exists && isDirectory.boolValue ? (path as NSString).appendingPathComponent(fileName) : path
        let json = try JSONObject.parse(try readFile(file), path: file, what: "adapter config")
        let config = try parse(json)
        try config.validate(path: file)
        return config
    }

    static func parse(_ json: JSONObject) throws -> LoRAConfig {
        func unsupported(_ field: String, _ message: String) -> CheckpointError {
            CheckpointError(.unsupported, path: json.path, field: field, message)
        }
        guard let peftType = try json.string("peft_type") else { throw json.missing("peft_type") }
        guard peftType == "LORA" else {
            throw unsupported("peft_type", "adapter type \(peftType) is not supported (only LORA)")
        }
        var taskType: TaskType?
        if let raw = try json.string("task_type") {
            guard let t = TaskType(rawValue: raw) else {
                throw unsupported("task_type", "task type \(raw) is not supported (CAUSAL_LM or SEQ_CLS)")
            }
            taskType = t
        }

        // Options whose PEFT default is the only computation implemented here.
        if let bias = try json.string("bias"), bias != "none" {
            throw unsupported("bias", "bias '\(bias)' trains the base biases too; only \"none\" is supported")
        }
        let off: [(String, String)] = [
            ("use_rslora", "rank-stabilised scaling (alpha / sqrt(r))"), ("use_dora", "DoRA"),
            ("lora_bias", "a bias on lora_B"), ("fan_in_fan_out", "transposed (Conv1D) weights, which Llama does not use"),
            ("use_qalora", "QA-LoRA"),
        ]
        for (field, what) in off where try json.bool(field) == true {
            throw unsupported(field, "\(what) is not supported")
        }
        let absent: [(String, String)] = [
            ("layers_to_transform", "adapting a subset of the layers"), ("layer_replication", "layer replication"),
            ("exclude_modules", "excluding modules"), ("trainable_token_indices", "trainable token rows"),
            ("target_parameters", "adapting parameters directly"), ("alora_invocation_tokens", "activated LoRA"),
            ("megatron_config", "Megatron layers"), ("rank_pattern", "per-layer ranks"),
            ("alpha_pattern", "per-layer alphas"),
        ]
        for (field, what) in absent {
            guard let raw = json.value(field) else { continue }
            let empty = (raw as? [Any])?.isEmpty ?? (raw as? [String: Any])?.isEmpty ?? false
            if !empty { throw unsupported(field, "\(what) is not supported") }
        }
        if let raw = json.value("init_lora_weights") {
            // PiSSA, OLoRA, LoftQ, EVA and CorDA change the base weights (or need them changed
            // back) at initialisation, so the adapter only fits a modified base model.
            let fine = (raw as? NSNumber).map(isBool) ?? false || (raw as? String) == "gaussian"
            if !fine {
                throw unsupported("init_lora_weights", "initialisation \(describe(raw)) rewrites the base model; only true, false or \"gaussian\" adapters apply to an unmodified base")
            }
        }

        guard let r = try json.int("r") else { throw json.missing("r") }
        let alpha = try json.double("lora_alpha") ?? 8
        let dropout = try json.double("lora_dropout") ?? 0
        let targets = try parseTargets(json)
        var modulesToSave: [String] = []
        if let raw = try json.array("modules_to_save") {
            for m in raw {
                guard let name = m as? String else { throw json.wrongType("modules_to_save", "an array of strings", raw) }
                modulesToSave.append(name)
            }
        }
        return LoRAConfig(r: r, alpha: alpha, dropout: dropout, targetModules: targets, taskType: taskType,
                          baseModelNameOrPath: try json.string("base_model_name_or_path"), modulesToSave: modulesToSave)
    }

    /// PEFT matches a module when its full name equals a listed name or ends with "." + it.
    private static func parseTargets(_ json: JSONObject) throws -> [LoRATarget] {
        guard let raw = json.value("target_modules") else { throw json.missing("target_modules") }
        func unsupported(_ message: String) -> CheckpointError {
            CheckpointError(.unsupported, path: json.path, field: "target_modules", message)
        }
        if let pattern = raw as? String {
            if pattern == "all-linear" { return LoRATarget.allCases }
            if let t = LoRATarget(rawValue: pattern) { return [t] }
            throw unsupported("the regular expression \"\(pattern)\" is not supported; list module names (\(LoRATarget.allCases.map(\.rawValue).joined(separator: ", "))) or \"all-linear\"")
        }
        guard let names = raw as? [Any] else { throw json.wrongType("target_modules", "an array of module names or a string", raw) }
        var targets: [LoRATarget] = []
        for element in names {
            guard let name = element as? String else { throw json.wrongType("target_modules", "an array of strings", raw) }
            let parts = name.split(separator: ".").map(String.init)
            guard let last = parts.last, let target = LoRATarget(rawValue: last) else {
                throw unsupported("module '\(name)' cannot be adapted here (supported: \(LoRATarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            // "self_attn.q_proj" still means every layer; a path through "layers.3" means one.
            if parts.count > 1 && (parts.dropLast().last != target.parent || parts.contains("layers")) {
                throw unsupported("module '\(name)' names a single layer or another parent; only every layer's \(last) can be adapted")
            }
            targets.append(target)
        }
        return targets
    }
}
