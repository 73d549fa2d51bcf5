import Datasets
import Model
import Tokenization

/// Checks of values that have the right type but may still be wrong, each reported at the line
/// or flag that set the value.
extension ResolvedRecipe {
    /// Refuses missing required keys, out-of-range values, unknown names (template, format,
    /// scheduler, loss type).
    /// - Throws: `RecipeError` at the place the offending key was set.
    public func validate() throws {
        let r = recipe
        func fail(_ key: String, _ message: String, code: RecipeError.Code = .invalidValue) -> RecipeError {
            RecipeError(code, place: source(of: key).description, key: key, message)
        }
        func require(_ key: String, _ ok: Bool, _ message: String) throws {
            if !ok { throw fail(key, message) }
        }
        for (key, missing) in [("model_name_or_path", r.modelNameOrPath.isEmpty), ("train_file", r.trainFile.isEmpty),
                               ("output_dir", r.outputDir.isEmpty)] where missing {
            throw fail(key, "is required (in the recipe, or as --\(key))", code: .missing)
        }
        try require("per_device_train_batch_size", r.perDeviceTrainBatchSize >= 1, "must be at least 1, got \(r.perDeviceTrainBatchSize)")
        try require("per_device_eval_batch_size", r.perDeviceEvalBatchSize >= 1, "must be at least 1, got \(r.perDeviceEvalBatchSize)")
        try require("gradient_accumulation_steps", r.gradientAccumulationSteps >= 1, "must be at least 1, got \(r.gradientAccumulationSteps)")
        try require("max_seq_length", r.maxSeqLength >= 2, "must be at least 2, got \(r.maxSeqLength)")
        if let p = r.maxPromptLength {
            try require("max_prompt_length", p >= 1 && p < r.maxSeqLength, "must be between 1 and max_seq_length - 1 (\(r.maxSeqLength - 1)), got \(p)")
        }
        try require("learning_rate", r.learningRate >= 0, "must not be negative, got \(r.learningRate)")
        try require("weight_decay", r.weightDecay >= 0, "must not be negative, got \(r.weightDecay)")
        try require("adam_beta1", r.adamBeta1 >= 0 && r.adamBeta1 < 1, "must be in [0, 1), got \(r.adamBeta1)")
        try require("adam_beta2", r.adamBeta2 >= 0 && r.adamBeta2 < 1, "must be in [0, 1), got \(r.adamBeta2)")
        try require("adam_epsilon", r.adamEpsilon > 0, "must be positive, got \(r.adamEpsilon)")
        try require("max_grad_norm", r.maxGradNorm >= 0, "must not be negative (0 disables clipping), got \(r.maxGradNorm)")
        for target in r.reportTo where !["tensorboard", "all", "none"].contains(target) {
            throw fail("report_to", "expected tensorboard, all or none, got \(quoted(target))")
        }
        if let alpha = r.neftuneNoiseAlpha {
            try require("neftune_noise_alpha", alpha >= 0, "must not be negative, got \(alpha)")
        }
        if LearningRateSchedule.Kind(rawValue: r.lrSchedulerType) == nil {
            throw fail("lr_scheduler_type", "expected one of \(LearningRateSchedule.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got \(quoted(r.lrSchedulerType))")
        }
        try require("warmup_ratio", r.warmupRatio >= 0 && r.warmupRatio <= 1, "must be in [0, 1], got \(r.warmupRatio)")
        try require("lr_decay_ratio", r.lrDecayRatio > 0 && r.lrDecayRatio <= 1, "must be in (0, 1], got \(r.lrDecayRatio)")
        try require("warmup_steps", r.warmupSteps >= 0, "must not be negative, got \(r.warmupSteps)")
        try require("max_steps", r.maxSteps == -1 || r.maxSteps >= 1, "must be -1 (use num_train_epochs) or at least 1, got \(r.maxSteps)")
        if r.maxSteps < 1 {
            try require("num_train_epochs", r.numTrainEpochs > 0, "must be positive when max_steps is -1, got \(r.numTrainEpochs)")
        }
        try require("logging_steps", r.loggingSteps >= 1, "must be at least 1, got \(r.loggingSteps)")
        if let e = r.evalSteps { try require("eval_steps", e >= 1, "must be at least 1, got \(e)") }
        try require("save_steps", r.saveSteps >= 1, "must be at least 1, got \(r.saveSteps)")
        if let l = r.saveTotalLimit { try require("save_total_limit", l >= 1, "must be at least 1, got \(l)") }
        try require("seed", r.seed >= 0, "must not be negative, got \(r.seed)")
        if let d = r.dataSeed { try require("data_seed", d >= 0, "must not be negative, got \(d)") }
        if let f = r.evalFraction { try require("eval_fraction", f >= 0 && f < 1, "must be in [0, 1), got \(f)") }
        if r.evalFile != nil, let f = r.evalFraction, f > 0 {
            throw fail("eval_fraction", "give either eval_file or eval_fraction, not both")
        }
        for (key, value) in [("max_train_samples", r.maxTrainSamples), ("max_eval_samples", r.maxEvalSamples)] {
            if let value { try require(key, value >= 1, "must be at least 1, got \(value)") }
        }
        if let split = r.dataSplit {
            do { _ = try DataSplit(parsing: split) } catch { throw fail("data_split", "expected three non-negative integers with a positive sum like \"6,2,2\", got \(quoted(split))") }
        }
        if let index = r.dataSplitIndex {
            try require("data_split_index", r.dataSplit != nil, "needs data_split")
            try require("data_split_index", (0...2).contains(index), "must be 0, 1 or 2, got \(index)")
        }
        if let name = r.template {
            do { _ = try ChatTemplate(named: name) } catch { throw fail("template", "\(error)") }
        }
        if let name = r.format {
            do { _ = try DatasetFormat(named: name) } catch {
                throw fail("format", "expected one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")), got \(quoted(name))")
            }
        }
        try require("beta", r.beta > 0, "must be positive, got \(r.beta)")
        if Losses.PreferenceLossType(rawValue: r.lossType) == nil {
            throw fail("loss_type", "expected sigmoid or ipo, got \(quoted(r.lossType))")
        }
        try require("lora_r", r.loraR >= 1 && r.loraR <= LoRAConfig.maxRank, "must be from 1 to \(LoRAConfig.maxRank), got \(r.loraR)")
        try require("lora_alpha", r.loraAlpha.isFinite && r.loraAlpha != 0, "must be finite and non-zero, got \(r.loraAlpha)")
        do { _ = try r.loraTargets() } catch let error as RecipeError {
            throw fail("lora_target_modules", error.message)
        }
        try require("lora_dropout", r.loraDropout >= 0 && r.loraDropout < 1, "must be in [0, 1), got \(r.loraDropout)")
    }
}

extension TrainingRecipe {
    /// `lora_target_modules` as layers: PEFT's module names, or `all-linear` for all seven.
    /// - Throws: `RecipeError` naming an unknown module.
    public func loraTargets() throws -> [LoRATarget] {
        if loraTargetModules.map({ $0.lowercased() }).contains(where: { $0 == "all-linear" || $0 == "all_linear" }) {
            return LoRATarget.allCases
        }
        return try loraTargetModules.map { name in
            guard let target = LoRATarget(rawValue: name) else {
                throw RecipeError(.invalidValue, place: "", key: "lora_target_modules",
                                  "unknown module \(quoted(name)); expected all-linear or some of \(LoRATarget.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return target
        }
    }

    /// The LoRA configuration of the recipe (PEFT's causal-LM task), or nil without `use_lora`.
    public func loraConfig() throws -> LoRAConfig? {
        guard useLora else { return nil }
        return LoRAConfig(r: loraR, alpha: loraAlpha, dropout: loraDropout, targetModules: try loraTargets(),
                          taskType: .causalLM, baseModelNameOrPath: modelNameOrPath)
    }
}
