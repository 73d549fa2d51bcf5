import Foundation

/// The keys every recipe may hold, in the order the resolved config is printed.
extension RecipeKey {
    /// Every key. Computed, not stored: key paths are not `Sendable`, and the list is small.
    public static var all: [RecipeKey] {
        [
            // Models
            RecipeKey("model_name_or_path", .string(\.modelNameOrPath),
                      "the starting model: a HF checkpoint directory (required)"),
            RecipeKey("tokenizer_name_or_path", .optionalString(\.tokenizerNameOrPath),
                      "directory (or file) of tokenizer.model; default: the model directory"),
            RecipeKey("ref_model_name_or_path", .optionalString(\.refModelNameOrPath), stages: [.dpo],
                      "DPO's frozen reference model; default: model_name_or_path"),
            // Data
            RecipeKey("train_file", .stringList(\.trainFile),
                      "training data: JSON/JSONL files or directories, PATH:WEIGHT to mix several (required)"),
            RecipeKey("eval_file", .optionalString(\.evalFile), "evaluation data; default: none, or eval_fraction of train_file"),
            RecipeKey("format", .optionalString(\.format),
                      "record format of every file (preference, prompt-response, messages, sharegpt, alpaca, text, prompt); default: detected"),
            RecipeKey("template", .optionalString(\.template),
                      "chat template (deepspeed-chat, vicuna, llama-2, chatml, plain, raw); default: the model's, else deepspeed-chat"),
            RecipeKey("data_split", .optionalString(\.dataSplit), "DeepSpeed-Chat data_split such as \"6,2,2\"; default: no split"),
            RecipeKey("data_split_index", .optionalInt(\.dataSplitIndex),
                      "which share of data_split to train on (0, 1, 2); default: 0 for pt/sft, 1 for rm/dpo"),
            RecipeKey("eval_fraction", .optionalDouble(\.evalFraction), "fraction of train_file held out for evaluation when there is no eval_file"),
            RecipeKey("max_train_samples", .optionalInt(\.maxTrainSamples), "keep only the first N training records"),
            RecipeKey("max_eval_samples", .optionalInt(\.maxEvalSamples), "keep only the first N evaluation records"),
            RecipeKey("skip_bad_records", .bool(\.skipBadRecords), "skip (and list) records that do not fit instead of stopping"),
            RecipeKey("max_seq_length", .int(\.maxSeqLength), "longest sequence in tokens, prompt and answer together (pt: block size)"),
            RecipeKey("max_prompt_length", .optionalInt(\.maxPromptLength), stages: [.sft, .rm, .dpo],
                      "the prompt's budget when prompt and answer do not fit; default: max_seq_length / 2"),
            RecipeKey("packing", .bool(\.packing), stages: [.pt], "concatenate documents into max_seq_length blocks"),
            RecipeKey("neftune_noise_alpha", .optionalDouble(\.neftuneNoiseAlpha), stages: [.pt, .sft],
                      "NEFTune: uniform noise of magnitude alpha/sqrt(L·d) on the input embeddings while training (the paper uses 5); default: none"),
            // Run
            RecipeKey("output_dir", .string(\.outputDir), "run directory: metrics, checkpoints, final model (required)"),
            RecipeKey("report_to", .stringList(\.reportTo),
                      "where metrics go besides output_dir/metrics.jsonl: [tensorboard] (event files in output_dir/runs; all means the same), or none"),
            RecipeKey("overwrite_output_dir", .bool(\.overwriteOutputDir), "start afresh even if output_dir holds checkpoints"),
            RecipeKey("per_device_train_batch_size", .int(\.perDeviceTrainBatchSize), "examples (pairs for rm/dpo) per micro-batch"),
            RecipeKey("per_device_eval_batch_size", .int(\.perDeviceEvalBatchSize), "examples per evaluation batch"),
            RecipeKey("group_by_length", .bool(\.groupByLength),
                      "batch examples of similar length together (shuffled in mega-batches of 50 batches, each sorted longest first): less padding"),
            RecipeKey("gradient_accumulation_steps", .int(\.gradientAccumulationSteps), "micro-batches per optimizer update"),
            RecipeKey("learning_rate", .double(\.learningRate), "peak learning rate"),
            RecipeKey("weight_decay", .double(\.weightDecay), "AdamW decoupled weight decay (matrices and embeddings only)"),
            RecipeKey("adam_beta1", .double(\.adamBeta1), "AdamW beta1"),
            RecipeKey("adam_beta2", .double(\.adamBeta2), "AdamW beta2"),
            RecipeKey("adam_epsilon", .double(\.adamEpsilon), "AdamW epsilon"),
            RecipeKey("max_grad_norm", .double(\.maxGradNorm), "clip the global gradient norm to this; 0 disables clipping"),
            RecipeKey("lr_scheduler_type", .string(\.lrSchedulerType), "linear, cosine, constant, constant_with_warmup or warmup_stable_decay"),
            RecipeKey("lr_decay_ratio", .double(\.lrDecayRatio), "warmup_stable_decay: the last fraction of the run over which the rate falls to 0"),
            RecipeKey("warmup_ratio", .double(\.warmupRatio), "warmup as a fraction of the run (when warmup_steps is 0)"),
            RecipeKey("warmup_steps", .int(\.warmupSteps), "warmup in optimizer updates; overrides warmup_ratio when positive"),
            RecipeKey("num_train_epochs", .double(\.numTrainEpochs), "passes over the data (fractions allowed); ignored when max_steps > 0"),
            RecipeKey("max_steps", .int(\.maxSteps), "optimizer updates in the run; -1 derives them from num_train_epochs"),
            RecipeKey("logging_steps", .int(\.loggingSteps), "write a metrics line every N updates"),
            RecipeKey("eval_steps", .optionalInt(\.evalSteps), "evaluate every N updates; default: only at the end"),
            RecipeKey("save_steps", .int(\.saveSteps), "save a checkpoint every N updates (and at the end)"),
            RecipeKey("save_total_limit", .optionalInt(\.saveTotalLimit), "keep at most N checkpoints, never deleting the best nor the newest; default: all"),
            RecipeKey("seed", .int(\.seed), "seed of the data order and of new weights"),
            RecipeKey("data_seed", .optionalInt(\.dataSeed),
                      "seed of data_split, hold-out, mixing and shuffling; default: seed (keep it equal across steps that share a data_split)"),
            RecipeKey("resume_from_checkpoint", .optionalString(\.resumeFromCheckpoint),
                      "a checkpoint directory, or \"latest\" for the newest in output_dir"),
            // DPO
            RecipeKey("beta", .double(\.beta), stages: [.dpo], "DPO beta: the strength of the pull towards the reference"),
            RecipeKey("loss_type", .string(\.lossType), stages: [.dpo], "sigmoid (DPO) or ipo"),
            // LoRA
            RecipeKey("use_lora", .bool(\.useLora), "train LoRA adapters on a frozen base instead of all weights (pt, sft, rm, dpo; rm also trains the score head, saved with the adapters as PEFT's modules_to_save)"),
            RecipeKey("lora_r", .int(\.loraR), "LoRA rank"),
            RecipeKey("lora_alpha", .double(\.loraAlpha), "LoRA scaling numerator (scale = lora_alpha / lora_r)"),
            RecipeKey("lora_dropout", .double(\.loraDropout), "dropout on the LoRA input"),
            RecipeKey("lora_target_modules", .stringList(\.loraTargetModules), "modules that get adapters, e.g. [q_proj, v_proj], or all-linear"),
        ]
    }

    /// The key named `name`, accepting dashes for underscores as users type flags.
    public static func named(_ name: String) -> RecipeKey? {
        let normalized = name.replacingOccurrences(of: "-", with: "_")
        return all.first { $0.name == normalized }
    }
}
