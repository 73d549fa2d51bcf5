import Foundation

/// What a configuration costs, computed from its fields alone before anything is allocated, in
/// overflow-checked arithmetic: a `config.json` naming `num_hidden_layers: 1000000000000` must be
/// refused by reading it, not by allocating until the kernel kills the process.
public struct ModelFootprint: Sendable, Equatable {
    /// Parameters of the flat block, as ``ParameterLayout`` lays them out; nil past `Int.max`.
    public let parameters: Int?
    /// Float32 bytes of the parameter block and of the RoPE table (cos and sin for every
    /// position), the least a loaded model holds; nil past `Int.max`. Gradients and AdamW's
    /// moments add three times the parameter block when training.
    public let bytes: Int?
    /// The size field behind the largest share of `bytes`: the one a refusal of the total names.
    public let largestField: String

    /// "the model would have N parameters and need B bytes ...; this machine has M bytes
    /// available", for error messages.
    public func summary(availableBytes: Int) -> String {
        let count = parameters.map(String.init) ?? "more than \(Int.max)"
        let size = bytes.map(SystemMemory.describe) ?? "more than \(Int.max) bytes"
        return "the model would have \(count) parameters and need \(size) for its weights and RoPE table in Float32 alone;"
            + " this machine has \(SystemMemory.describe(availableBytes)) available"
    }
}
