import Foundation
import Model
import Tensor

/// One optimizer update, not tied to any data: the caller sums gradients into
/// `parameters.gradients` (over any number of micro-batches, each loss normalised over the whole
/// update), then `apply()` clips their global norm, takes an AdamW step at the schedule's rate
/// for this update, and counts it.
///
/// The dataset `Trainer` drives one from its data loader; the PPO actor and critic trainers
/// drive one each from experience batches. Everything that decides the next update besides the
/// weights and the configuration -- AdamW's moments and its update count, which is also the
/// schedule's position -- is what `save(toDirectory:)` writes (`optimizer.safetensors`, torch's
/// state names) and `restore(fromDirectory:)` reads back exactly.
public final class OptimizerStep {
    /// File name of the optimizer state inside a checkpoint directory.
    public static let fileName = "optimizer.safetensors"

    /// The block being trained (values, gradients, named tensors).
    public let parameters: any TrainableParameters
    /// AdamW over that block; `optimizer.step` counts the updates taken.
    public let optimizer: AdamW
    /// The learning rate of each update.
    public var schedule: LearningRateSchedule
    /// The global gradient norm is clipped to this before each update; 0 disables clipping.
    public var maxGradNorm: Double
    /// The role's compute context, under which the AdamW update runs.
    public var context: ComputeContext

    /// What one update did.
    public struct Result: Sendable, Equatable {
        /// The gradients' global L2 norm before clipping.
        public var gradNorm: Double
        /// The learning rate the update used.
        public var learningRate: Double
    }

    /// - Parameters:
    ///   - parameters: the trainable block (its gradients are what `apply()` reads).
    ///   - adam: AdamW's hyperparameters.
    ///   - schedule: the learning rate of each update.
    ///   - maxGradNorm: clip threshold of the global gradient norm; 0 disables clipping.
    ///   - context: the compute context of the role that trains.
    public init(parameters: any TrainableParameters, adam: AdamW.Hyperparameters, schedule: LearningRateSchedule,
                maxGradNorm: Double, context: ComputeContext = .current) {
        self.parameters = parameters
        optimizer = parameters.makeOptimizer(adam)
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.context = context
    }

    /// Updates taken so far: the 0-based index of the next update in the schedule.
    public var step: Int { optimizer.step }

    /// The gradients to accumulate into (the trainable block's own buffer).
    public var gradients: FloatBuffer { parameters.gradients }

    /// Zeroes the gradients: call before accumulating an update's micro-batches.
    public func zeroGradients() { parameters.gradients.zero() }

    /// The learning rate the next update will use.
    public var nextLearningRate: Double { schedule.learningRate(step: step) }

    /// Clips the accumulated gradients' global norm to `maxGradNorm` (unless 0), applies AdamW at
    /// the schedule's rate for this update, and counts the update. The gradients are left
    /// (clipped) in place; zero them before the next accumulation.
    @discardableResult
    public func apply() -> Result {
        let g = parameters.gradients
        let norm = maxGradNorm > 0 ? GradientClipping.clip(g, maxNorm: Float(maxGradNorm)) : GradientClipping.globalNorm(g)
        let lr = nextLearningRate
        optimizer.update(parameters: parameters.values, gradients: g, lr: Float(lr), context: context)
        return Result(gradNorm: Double(norm), learningRate: lr)
    }

    // MARK: - State

    /// Writes AdamW's moments under `exp_avg.NAME` and `exp_avg_sq.NAME` (torch's state names)
    /// in the trainable tensors' shapes, and the update count in the metadata, to
    /// `directory/optimizer.safetensors`.
    public func save(toDirectory directory: String) throws {
        try save(toFile: (directory as NSString).appendingPathComponent(OptimizerStep.fileName))
    }

    /// As `save(toDirectory:)`, to the file `path`.
    public func save(toFile path: String) throws {
        var tensors: [String: HostTensor] = [:]
        for e in parameters.tensors {
            tensors["exp_avg." + e.name] = HostTensor(shape: e.shape, data: Array(UnsafeBufferPointer(start: optimizer.m[e.offset], count: e.count)))
            tensors["exp_avg_sq." + e.name] = HostTensor(shape: e.shape, data: Array(UnsafeBufferPointer(start: optimizer.v[e.offset], count: e.count)))
        }
        try SafeTensors.write(tensors, to: path, metadata: ["step": String(optimizer.step), "optimizer": "AdamW"])
    }

    /// Reads back what `save(toDirectory:)` wrote: every moment and the update count.
    /// - Throws: `TrainingError` naming the file and the tensor or field that is missing or does
    ///   not fit; `CheckpointError` when the file is not a readable safetensors file.
    public func restore(fromDirectory directory: String) throws {
        try restore(fromFile: (directory as NSString).appendingPathComponent(OptimizerStep.fileName))
    }

    /// As `restore(fromDirectory:)`, from the file `path`.
    public func restore(fromFile path: String) throws {
        let tensors = try SafeTensors.read(contentsOf: path)
        let header = try SafeTensors.readHeader(contentsOf: path)
        guard let stepText = header.metadata["step"], let step = Int(stepText), step >= 0 else {
            throw TrainingError(.checkpoint, path: path, "metadata 'step' (the AdamW update count) is missing or not a count")
        }
        for e in parameters.tensors {
            for (prefix, buffer) in [("exp_avg.", optimizer.m), ("exp_avg_sq.", optimizer.v)] {
                guard let t = tensors[prefix + e.name], t.shape == e.shape else {
                    throw TrainingError(.checkpoint, path: path, "'\(prefix + e.name)' is missing or not of shape \(e.shape)")
                }
                t.data.withUnsafeBufferPointer { buffer[e.offset].update(from: $0.baseAddress!, count: e.count) }
            }
        }
        optimizer.step = step
    }
}
