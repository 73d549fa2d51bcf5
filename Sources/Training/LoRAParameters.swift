import Foundation
import Model

/// LoRA adapters on a frozen base: the trainable block is the adapters' own (every A and B), the
/// base model's weights never change, and what is saved is a PEFT adapter directory
/// (`adapter_config.json` + `adapter_model.safetensors`) that `PeftModel.from_pretrained` loads
/// and `rlhf lora merge` folds into the base.
public final class LoRAParameters: TrainableParameters {
    /// The base model, with the adapters attached.
    public let model: Llama
    public let adapters: LoRAAdapters

    /// Makes adapters for `model` (A kaiming-uniform, B = 0, so training starts at the base) and
    /// attaches them with the base frozen.
    /// - Parameters:
    ///   - model: the base model.
    ///   - config: rank, alpha, dropout and target modules.
    ///   - seed: seeds A and the dropout masks.
    public init(model: Llama, config: LoRAConfig, seed: UInt64) {
        self.model = model
        adapters = LoRAAdapters(config: config, for: model, seed: seed)
        model.attach(adapters)
        adapters.enableGradients()
    }

    public var values: FloatBuffer { adapters.parameters }
    public var gradients: FloatBuffer { adapters.enableGradients() }
    public var tensors: [ParameterLayout.Entry] { adapters.layout.entries }

    public func makeOptimizer(_ hyperparameters: AdamW.Hyperparameters) -> AdamW {
        AdamW(adapters: adapters, hyperparameters: hyperparameters)
    }

    /// Writes the adapters in PEFT's layout.
    public func save(to directory: String) throws {
        try model.saveAdapters(directory: directory)
    }

    /// Reads back the adapter weights `save(to:)` wrote into the attached adapters.
    public func restore(from directory: String) throws {
        let file = (directory as NSString).appendingPathComponent(LoRAAdapters.weightsFileName)
        try adapters.loadParameters(try SafeTensors.read(contentsOf: file), source: file)
    }

    /// Dropout draws from (seed, counter): both are saved so a resumed run draws the same masks.
    public var randomState: [String: UInt64] {
        get { ["lora_dropout_seed": adapters.dropoutSeed, "lora_dropout_counter": adapters.dropoutCounter] }
        set {
            if let seed = newValue["lora_dropout_seed"] { adapters.dropoutSeed = seed }
            if let counter = newValue["lora_dropout_counter"] { adapters.dropoutCounter = counter }
        }
    }

    /// Evaluation runs without dropout, as PEFT's eval mode.
    public func setTraining(_ training: Bool) {
        adapters.appliesDropout = training
    }
}
