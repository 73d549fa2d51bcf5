import Foundation
import Model

/// An exponential moving average of a trainer's weights (DeepSpeed-Chat's `--enable_ema`, decay
/// 0.992: `ema ← β·ema + (1 − β)·θ` after every policy update), saved beside the actor as a model
/// of its own. It averages what trains: every weight, or the LoRA adapters.
public final class WeightEMA {
    public let decay: Double
    let values: FloatBuffer
    let trainable: any TrainableParameters

    /// Starts at the trainable block's current values.
    public init(trainable: any TrainableParameters, decay: Double) {
        self.trainable = trainable
        self.decay = decay
        values = FloatBuffer(count: trainable.values.count)
        values.pointer.update(from: trainable.values.pointer, count: values.count)
    }

    /// Moves the average towards the current weights.
    public func update() {
        let b = Float(decay), a = 1 - Float(decay)
        let p = trainable.values.pointer, e = values.pointer
        for i in 0..<values.count { e[i] = b * e[i] + a * p[i] }
    }

    /// Writes the averaged model into `directory` in the trainable's own layout (HF or PEFT):
    /// the averages stand in for the weights while it saves, then the weights come back.
    public func save(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try swapped { try trainable.save(to: directory) }
    }

    /// Reads back what `save` wrote.
    public func restore(from directory: String) throws {
        try swapped { try trainable.restore(from: directory) }
    }

    /// Runs `body` with the averages in the trainable block, and the weights back afterwards
    /// (what `body` read or wrote there becomes the averages).
    private func swapped(_ body: () throws -> Void) throws {
        let live = trainable.values
        let saved = live.array
        live.pointer.update(from: values.pointer, count: values.count)
        defer {
            values.pointer.update(from: live.pointer, count: values.count)
            saved.withUnsafeBufferPointer { live.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        try body()
    }
}
