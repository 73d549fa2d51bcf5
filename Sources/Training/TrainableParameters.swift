import Foundation
import Model

/// The parameters a trainer updates: one flat block of values with its gradients, the optimizer
/// that fits it, and how to save and restore it.
///
/// This is the one seam through which the loop touches weights: full fine-tuning is
/// `FullParameters` (every weight of the model), LoRA is `LoRAParameters` (the adapters' own
/// block, saved in PEFT's layout); the loop is the same for both.
public protocol TrainableParameters: AnyObject {
    /// The values the optimizer updates.
    var values: FloatBuffer { get }
    /// Their gradients, in the same layout; the loop zeroes them before each optimizer step.
    var gradients: FloatBuffer { get }
    /// Named views of the block, under which the optimizer state is saved.
    var tensors: [ParameterLayout.Entry] { get }
    /// An AdamW over the block (weight decay where each tensor says it decays).
    func makeOptimizer(_ hyperparameters: AdamW.Hyperparameters) -> AdamW
    /// Writes the trained model into `directory`, in the layout its users load (HF for full
    /// weights). Files go straight into `directory`; the caller makes the directory atomic.
    func save(to directory: String) throws
    /// Reads back what `save(to:)` wrote, exactly.
    func restore(from directory: String) throws
    /// Generator states of the trainable parameters themselves (LoRA's dropout), saved in
    /// `rng_state.json` so a resumed run draws what the original would have.
    var randomState: [String: UInt64] { get set }
    /// Switches training-only behaviour (dropout) on or off; evaluation turns it off.
    func setTraining(_ training: Bool)
}

extension TrainableParameters {
    /// No generator of their own.
    public var randomState: [String: UInt64] {
        get { [:] }
        set {}
    }

    /// Nothing differs between training and evaluation.
    public func setTraining(_ training: Bool) {}
}

/// Every weight of one model: full fine-tuning.
public final class FullParameters: TrainableParameters {
    /// The model being trained.
    public let model: Llama

    /// - Parameter model: the model whose whole parameter block is trained.
    public init(model: Llama) {
        self.model = model
        model.enableGradients()
    }

    public var values: FloatBuffer { model.parameters }
    public var gradients: FloatBuffer { model.enableGradients() }
    public var tensors: [ParameterLayout.Entry] { model.layout.entries }

    public func makeOptimizer(_ hyperparameters: AdamW.Hyperparameters) -> AdamW {
        AdamW(layout: model.layout, hyperparameters: hyperparameters)
    }

    /// Writes config.json and model.safetensors (F32): a LlamaForCausalLM or, for a score head,
    /// a LlamaForSequenceClassification directory.
    public func save(to directory: String) throws {
        try model.save(directory: directory)
    }

    /// Loads the weights saved by `save(to:)`: the same architecture, and every tensor with the
    /// shape the model has (`loadParameters` checks each).
    public func restore(from directory: String) throws {
        let dir = CheckpointDirectory(path: directory)
        let config = try dir.loadConfig()
        guard config.architecture == model.config.architecture else {
            throw CheckpointError(.invalidValue, path: directory, field: "architectures",
                                  "the checkpoint holds a \(config.architecture), but a \(model.config.architecture) is being trained")
        }
        try model.loadParameters(try dir.loadTensors(), source: directory)
    }
}
