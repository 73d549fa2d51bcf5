import Foundation

/// What a set of adapters costs before it is allocated: a rank typed with three zeros too many
/// must be refused by reading the file, not by allocating until the kernel kills the process.
extension LoRAConfig {
    /// The highest rank a configuration may have: far beyond the ranks used in practice (4 to
    /// 256, a few papers 2048), and a bound on what one adapter per layer can allocate.
    public static let maxRank = 1 << 16

    /// Adapter parameters for a base model of `model`'s configuration (A (r, in) and B (out, r)
    /// per target per layer, plus the score head a SEQ_CLS set carries), as ``LoRALayout``
    /// lays them out; nil past `Int.max`.
    public func parameterCount(for model: LlamaConfig) -> Int? {
        let C = model.hiddenSize, I = model.intermediateSize
        let attention = checkedProduct(model.numAttentionHeads, model.headDim)
        let keyValue = checkedProduct(model.numKeyValueHeads, model.headDim)
        let widths = targetModules.map { target -> Int? in
            switch target {  // in + out of the adapted layer
            case .q, .o: return checkedSum(C, attention)
            case .k, .v: return checkedSum(C, keyValue)
            case .gate, .up, .down: return checkedSum(C, I)
            }
        }
        let perLayer = widths.reduce(Optional(0)) { checkedSum($0, $1) }
        let scoreHead = savesScoreHead && model.defaultHead == .score(labels: 1) ? C : 0
        return checkedSum(checkedProduct(r, model.numHiddenLayers, perLayer), scoreHead)
    }

    /// Refuses adapters whose Float32 block alone needs more than `availableBytes` beside the
    /// base model, before anything is allocated (``LoRAAdapters/load(directory:for:)`` calls it).
    /// - Parameters:
    ///   - model: the base model's configuration.
    ///   - availableBytes: the memory to fit in; this machine's (``SystemMemory/bytes``) by default.
    ///   - path: the adapter configuration file, for the error.
    /// - Throws: ``CheckpointError`` `.tooLarge` naming `r` and the figures.
    public func checkFitsInMemory(for model: LlamaConfig, availableBytes: Int = SystemMemory.bytes, path: String = "") throws {
        let count = parameterCount(for: model)
        let bytes = checkedProduct(4, count), base = model.footprint.bytes
        guard let total = checkedSum(bytes, base), total <= availableBytes else {
            let adapters = count.map { "\($0) adapter parameters (\(bytes.map(SystemMemory.describe) ?? "more than \(Int.max) bytes"))" }
                ?? "more than \(Int.max) adapter parameters"
            let model = base.map(SystemMemory.describe) ?? "more than \(Int.max) bytes"
            throw CheckpointError(.tooLarge, path: path, field: "r",
                                  "the adapters do not fit in memory: rank \(r) makes \(adapters) beside a base model of \(model);"
                                      + " this machine has \(SystemMemory.describe(availableBytes)) available")
        }
    }
}
