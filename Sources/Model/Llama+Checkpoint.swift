import Foundation

/// Reading and writing HF checkpoint directories (config.json + safetensors with HF names).
extension Llama {
    /// Loads `config.json` and the weights of a HF model directory (single or sharded safetensors;
    /// F32, BF16 or F16 weights become F32).
    public static func load(directory: String) throws -> Llama {
        let dir = CheckpointDirectory(path: directory)
        let config = try dir.loadConfig()
        let model = Llama(config: config)
        try model.loadParameters(from: dir)
        return model
    }

    /// Reads the weights of `directory` straight into the parameter block, tensor by tensor, with
    /// the checks of `loadParameters(_:source:)`: the weights are held once while loading, not
    /// as a dictionary of arrays beside the block (and the mapped file beside both).
    public func loadParameters(from directory: CheckpointDirectory) throws {
        var seen = Set<String>()
        try directory.visitTensors { _, entry, raw in
            // Buffers transformers sometimes saves (rotary inv_freq), a tied model's lm_head.
            guard let e = layout.entry(named: entry.name) else { return }
            guard entry.shape == e.shape else {
                throw CheckpointError(.invalidValue, path: directory.path, field: e.name,
                                      "tensor has shape \(entry.shape), but config.json implies \(e.shape)")
            }
            SafeTensors.decode(raw, dtype: entry.dtype, into: parameters[e.offset])
            seen.insert(e.name)
        }
        for e in layout.entries where !seen.contains(e.name) {
            throw CheckpointError(.missing, path: directory.path, field: e.name,
                                  "tensor missing from the checkpoint (expected shape \(e.shape) for \(config.architecture))")
        }
    }

    /// Copies tensors (by HF name) into the parameter block. Every tensor of the layout must be
    /// present with its shape; buffers transformers sometimes saves (rotary inv_freq) and an
    /// lm_head of a tied model are ignored.
    public func loadParameters(_ tensors: [String: HostTensor], source: String) throws {
        for e in layout.entries {
            guard let t = tensors[e.name] else {
                throw CheckpointError(.missing, path: source, field: e.name,
                                      "tensor missing from the checkpoint (expected shape \(e.shape) for \(config.architecture))")
            }
            guard t.shape == e.shape else {
                throw CheckpointError(.invalidValue, path: source, field: e.name,
                                      "tensor has shape \(t.shape), but config.json implies \(e.shape)")
            }
            t.data.withUnsafeBufferPointer { parameters[e.offset].update(from: $0.baseAddress!, count: e.count) }
        }
    }

    /// Every parameter as a tensor under its HF name.
    public func namedTensors() -> [String: HostTensor] {
        var out: [String: HostTensor] = [:]
        for e in layout.entries {
            out[e.name] = HostTensor(shape: e.shape, data: Array(UnsafeBufferPointer(start: parameters[e.offset], count: e.count)))
        }
        return out
    }

    /// Writes config.json and model.safetensors (F32), each atomically.
    public func save(directory: String, maxShardBytes: Int? = nil) throws {
        try CheckpointDirectory(path: directory).save(config: config, tensors: namedTensors(), maxShardBytes: maxShardBytes)
    }
}
