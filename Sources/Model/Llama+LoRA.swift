import Foundation

/// Attaching, merging, loading and saving LoRA adapters.
extension Llama {
    /// Attaches adapters: every training forward, backward and inference pass then applies them.
    /// - Parameters:
    ///   - adapters: adapters made for this model's shapes.
    ///   - trainBase: whether backward still computes the base parameters' gradients. Off by
    ///     default, as PEFT freezes the base: only the adapters' gradients are computed.
    public func attach(_ adapters: LoRAAdapters, trainBase: Bool = false) {
        precondition(adapters.fits(config), "LoRA adapters made for another model shape")
        self.adapters = adapters
        trainsBase = trainBase
    }

    /// Detaches the adapters (the base weights are unchanged) and turns base training back on.
    @discardableResult
    public func detachAdapters() -> LoRAAdapters? {
        defer {
            adapters = nil
            trainsBase = true
        }
        return adapters
    }

    /// Folds the attached adapters into the base weights (W += scaling * B A, as PEFT's
    /// merge_and_unload) and detaches them: the model is then a plain model that computes what
    /// base + adapters computed, and saves as an ordinary HF checkpoint.
    public func mergeAdapters() {
        guard let adapters else { return }
        adapters.merge(into: self)
        detachAdapters()
    }

    /// Loads adapters saved in PEFT's layout and attaches them with a frozen base. When the
    /// adapter file carries the score head (`modules_to_save`, as PEFT saves SEQ_CLS adapters),
    /// it is copied into this model's score head.
    /// - Parameter directory: holds `adapter_config.json` and `adapter_model.safetensors`.
    /// - Returns: the attached adapters.
    /// - Throws: ``CheckpointError`` naming the file and field or tensor.
    @discardableResult
    public func loadAdapters(directory: String) throws -> LoRAAdapters {
        let adapters = try LoRAAdapters.load(directory: directory, for: self)
        let source = (directory as NSString).appendingPathComponent(LoRAAdapters.weightsFileName)
        for (name, t) in adapters.savedModules {
            guard let e = layout.entry(named: name) else {
                throw CheckpointError(.invalidValue, path: source, field: "base_model.model." + name,
                                      "saved module has no counterpart in the base model (\(config.architecture))")
            }
            guard t.shape == e.shape else {
                throw CheckpointError(.invalidValue, path: source, field: "base_model.model." + name,
                                      "saved module has shape \(t.shape), but the base model's \(name) is \(e.shape)")
            }
            t.data.withUnsafeBufferPointer { parameters[e.offset].update(from: $0.baseAddress!, count: e.count) }
        }
        attach(adapters)
        return adapters
    }

    /// The model the adapters in `directory` apply to, given their base model: this model, or,
    /// when the adapters are SEQ_CLS with the score head in `modules_to_save` and this model is a
    /// causal LM (a `use_lora` reward model started from a language model), its decoder with a
    /// single-label score head, as `AutoModelForSequenceClassification.from_pretrained(base,
    /// num_labels=1)` builds it before `PeftModel.from_pretrained` puts the saved head in.
    /// The new config's `pad_token_id` is the base's, else its `eos_token_id`, else 0.
    /// - Parameter directory: holds `adapter_config.json`.
    public func forAdapters(directory: String) throws -> Llama {
        let config = try LoRAConfig.load(contentsOf: (directory as NSString).appendingPathComponent(LoRAConfig.fileName))
        guard config.taskType == .sequenceClassification, config.savesScoreHead, layout.score == nil else { return self }
        return makeRewardModel(padTokenID: self.config.padTokenID ?? self.config.eosTokenID ?? 0, seed: 0)
    }

    /// Saves the attached adapters in PEFT's layout; with a score head and `modules_to_save`
    /// naming it (PEFT's SEQ_CLS default), the head is saved beside them.
    /// - Parameter directory: the adapter directory (created if missing).
    public func saveAdapters(directory: String) throws {
        guard let adapters else {
            throw CheckpointError(.missing, path: directory, "no LoRA adapters are attached to save")
        }
        var modules: [String: HostTensor] = [:]
        // Adapters that carry a trained score head save it themselves (under the same name).
        if adapters.layout.scoreHead == nil, adapters.config.savesScoreHead, let score = layout.score, let e = layout.entry(named: "score.weight") {
            modules[e.name] = HostTensor(shape: e.shape, data: Array(UnsafeBufferPointer(start: parameters[score], count: e.count)))
        }
        try adapters.save(directory: directory, modules: modules)
    }
}

extension AdamW {
    /// AdamW over the adapters' own block (every adapter matrix decays, as in transformers'
    /// Trainer): `update(parameters: adapters.parameters, gradients: adapters.gradients!, lr:)`.
    public convenience init(adapters: LoRAAdapters, hyperparameters: Hyperparameters = .init()) {
        self.init(count: adapters.layout.count, entries: adapters.layout.entries, hyperparameters: hyperparameters)
    }
}
