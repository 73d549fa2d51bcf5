import Foundation

/// A Hugging Face model directory: `config.json` plus weights in `model.safetensors` or in shards
/// listed by `model.safetensors.index.json`. What we save here loads with transformers'
/// `from_pretrained`, and what transformers saves loads here.
public struct CheckpointDirectory: Sendable, Equatable {
    /// The single-file weights name transformers looks for first.
    public static let weightsFileName = "model.safetensors"
    /// The index of sharded weights, looked for when the single file is absent.
    public static let indexFileName = "model.safetensors.index.json"

    /// The directory.
    public var path: String

    /// Names a checkpoint directory; nothing is read until a load.
    /// - Parameter path: the directory.
    public init(path: String) {
        self.path = path
    }

    /// The name transformers gives shard `index` (1-based) of `count`: `model-00001-of-00003.safetensors`.
    /// - Parameters:
    ///   - index: 1-based shard number.
    ///   - count: number of shards.
    public static func shardFileName(index: Int, of count: Int) -> String {
        "model-\(zeroPadded(index))-of-\(zeroPadded(count)).safetensors"
    }

    // MARK: - Loading

    /// Reads `config.json`.
    /// - Throws: ``CheckpointError`` naming the file and field.
    public func loadConfig() throws -> LlamaConfig {
        try requireDirectory()
        return try LlamaConfig.load(contentsOf: path)
    }

    /// Reads every weight tensor, from `model.safetensors` if present (as transformers prefers it),
    /// otherwise from every shard named by `model.safetensors.index.json`.
    /// - Returns: tensors by HF name, converted to Float32.
    /// - Throws: ``CheckpointError`` naming the directory or file, and the tensor where there is one.
    public func loadTensors() throws -> [String: HostTensor] {
        var tensors: [String: HostTensor] = [:]
        try visitTensors { _, entry, raw in
            let count = raw.count / entry.dtype.byteWidth
            let data = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                if count > 0 { SafeTensors.decode(raw, dtype: entry.dtype, into: out.baseAddress!) }
                initialized = count
            }
            tensors[entry.name] = HostTensor(shape: entry.shape, data: data)
        }
        return tensors
    }

    /// Calls `visit` with every weight tensor's entry and raw bytes, file by file, with the
    /// checks of `loadTensors`; each tensor's pages of the mapped file are given back once it is
    /// visited, so a model loaded into its own block holds its weights once, not twice.
    /// - Parameter visit: the file, the entry, and the tensor's bytes (valid during the call).
    public func visitTensors(_ visit: (_ path: String, _ entry: SafeTensorsEntry, _ raw: UnsafeRawBufferPointer) throws -> Void) throws {
        try requireDirectory()
        let single = file(CheckpointDirectory.weightsFileName)
        if FileManager.default.fileExists(atPath: single) {
            try visitFile(single, visit)
            return
        }
        let index = file(CheckpointDirectory.indexFileName)
        if FileManager.default.fileExists(atPath: index) {
            try visitSharded(indexPath: index, visit)
            return
        }
        var message = "no weights found: looked for \(CheckpointDirectory.weightsFileName) and \(CheckpointDirectory.indexFileName)"
        let pickles = ["pytorch_model.bin", "pytorch_model.bin.index.json"].filter {
            FileManager.default.fileExists(atPath: file($0))
        }
        if !pickles.isEmpty {
            message += "; found \(pickles.joined(separator: ", ")), but only safetensors is read"
                + " (re-save the model with safe_serialization=True)"
        }
        throw CheckpointError(.notFound, path: path, message)
    }

    /// One file: parsed, then each tensor visited and its mapped pages released.
    @discardableResult
    private func visitFile(_ path: String, _ visit: (String, SafeTensorsEntry, UnsafeRawBufferPointer) throws -> Void) throws -> SafeTensorsHeader {
        let mapped = try MappedFile(path: path)
        let header = try SafeTensors.parseHeader(mapped.bytes, path: path)
        try SafeTensors.forEachTensor(mapped.bytes, header: header) { entry, raw in
            try visit(path, entry, raw)
            mapped.release(raw)
        }
        return header
    }

    private func visitSharded(indexPath: String, _ visit: (String, SafeTensorsEntry, UnsafeRawBufferPointer) throws -> Void) throws {
        let index = try JSONObject.parse(try readFile(indexPath), path: indexPath, what: "index")
        guard let weightMap = try index.object("weight_map") else { throw index.missing("weight_map") }

        var shardOf: [String: String] = [:]
        var namesInShard: [String: [String]] = [:]
        for (name, raw) in weightMap.values {
            guard let shard = raw as? String else { throw weightMap.wrongType(name, "a shard file name", raw) }
            // Shards live beside the index; a path would let an index read files elsewhere.
            guard !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
                throw CheckpointError(
                    .invalidValue, path: indexPath, field: weightMap.name(name),
                    "shard '\(shard)' is not a plain file name in the checkpoint directory")
            }
            shardOf[name] = shard
            namesInShard[shard, default: []].append(name)
        }

        for shard in namesInShard.keys.sorted() {
            let expected = namesInShard[shard]!.sorted()
            let shardPath = file(shard)
            guard FileManager.default.fileExists(atPath: shardPath) else {
                throw CheckpointError(
                    .notFound, path: shardPath,
                    "shard listed in \(CheckpointDirectory.indexFileName) (for \(expected.count) tensor(s),"
                        + " e.g. '\(expected[0])') does not exist")
            }
            // One shard at a time, each tensor checked against the index before it is visited.
            let header = try SafeTensors.readHeader(contentsOf: shardPath)
            let inShard = Set(header.entries.map(\.name))
            for name in expected where !inShard.contains(name) {
                throw CheckpointError(
                    .missing, path: shardPath, field: name,
                    "tensor listed for this shard in \(CheckpointDirectory.indexFileName) is not in it")
            }
            for name in inShard.sorted() where shardOf[name] != shard {
                let listed = shardOf[name].map { "lists it under \($0)" } ?? "does not list it"
                throw CheckpointError(
                    .invalidValue, path: shardPath, field: name,
                    "tensor is in this shard but \(CheckpointDirectory.indexFileName) \(listed)")
            }
            try visitFile(shardPath, visit)
        }
    }

    // MARK: - Saving

    /// Writes `config.json` and the weights (see ``saveTensors(_:maxShardBytes:)``).
    /// - Parameters:
    ///   - config: the model configuration.
    ///   - tensors: weights by HF name.
    ///   - maxShardBytes: shard the weights when they exceed this many bytes; nil for one file.
    public func save(config: LlamaConfig, tensors: [String: HostTensor], maxShardBytes: Int? = nil) throws {
        try config.write(toDirectory: path)
        try saveTensors(tensors, maxShardBytes: maxShardBytes)
    }

    /// Writes the weights as F32 safetensors, creating the directory if needed.
    ///
    /// Without `maxShardBytes`, or when everything fits in one shard, this writes
    /// `model.safetensors`; otherwise `model-0000i-of-0000N.safetensors` (tensors in name order,
    /// a new shard whenever the next tensor would pass the limit, as transformers splits) and
    /// the index with `metadata.total_size`. Each file is written atomically; weight files of a
    /// previous save that the new layout does not use are removed afterwards, because
    /// transformers prefers a stale `model.safetensors` over a fresh index.
    /// - Parameters:
    ///   - tensors: weights by HF name.
    ///   - maxShardBytes: the most bytes of tensor data per shard file (positive); nil for one file.
    /// - Throws: ``CheckpointError`` naming the file on an I/O failure or an invalid tensor.
    public func saveTensors(_ tensors: [String: HostTensor], maxShardBytes: Int? = nil) throws {
        if let maxShardBytes, maxShardBytes <= 0 {
            throw CheckpointError(.invalidValue, path: path, "maxShardBytes must be positive, got \(maxShardBytes)")
        }
        try createDirectory()
        let names = tensors.keys.sorted()
        var shards: [[String]] = []
        var current: [String] = []
        var currentBytes = 0
        for name in names {
            let bytes = 4 * tensors[name]!.data.count
            if let maxShardBytes, !current.isEmpty, currentBytes + bytes > maxShardBytes {
                shards.append(current)
                current = []
                currentBytes = 0
            }
            current.append(name)
            currentBytes += bytes
        }
        shards.append(current)

        if shards.count == 1 {
            try SafeTensors.write(tensors, to: file(CheckpointDirectory.weightsFileName))
            try removeStaleWeights(keeping: [CheckpointDirectory.weightsFileName])
            return
        }

        var weightMap: [String: String] = [:]
        var written: Set<String> = []
        for (i, shardNames) in shards.enumerated() {
            let shard = CheckpointDirectory.shardFileName(index: i + 1, of: shards.count)
            var subset: [String: HostTensor] = [:]
            for name in shardNames {
                subset[name] = tensors[name]!
                weightMap[name] = shard
            }
            try SafeTensors.write(subset, to: file(shard))
            written.insert(shard)
        }
        let totalSize = names.reduce(0) { $0 + 4 * tensors[$1]!.data.count }
        let index: [String: Any] = ["metadata": ["total_size": totalSize], "weight_map": weightMap]
        let indexPath = file(CheckpointDirectory.indexFileName)
        var json: Data
        do {
            json = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw CheckpointError(.invalidValue, path: indexPath, "cannot encode the index: \(error)")
        }
        json.append(UInt8(ascii: "\n"))
        // The index goes last: until it is in place, a reader still sees the previous checkpoint.
        try AtomicFile.write(json, to: indexPath)
        written.insert(CheckpointDirectory.indexFileName)
        try removeStaleWeights(keeping: written)
    }

    // MARK: - Files

    private func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    private func requireDirectory() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError(.notFound, path: path, "checkpoint directory does not exist")
        }
        guard isDirectory.boolValue else {
            throw CheckpointError(.invalidValue, path: path, "is a file, not a checkpoint directory")
        }
    }

    private func createDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(.ioFailure, path: path, "cannot create the checkpoint directory: \(error.localizedDescription)")
        }
    }

    /// Removes weight files (single, index, shards) other than `keeping`.
    private func removeStaleWeights(keeping: Set<String>) throws {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw CheckpointError(.ioFailure, path: path, "cannot list the checkpoint directory: \(error.localizedDescription)")
        }
        for name in entries where !keeping.contains(name) && CheckpointDirectory.isWeightFileName(name) {
            do {
                try FileManager.default.removeItem(atPath: file(name))
            } catch {
                throw CheckpointError(.ioFailure, path: file(name), "cannot remove stale weights: \(error.localizedDescription)")
            }
        }
    }

    /// `model.safetensors`, its index, or a `model-NNNNN-of-NNNNN.safetensors` shard.
    static func isWeightFileName(_ name: String) -> Bool {
        if name == weightsFileName || name == indexFileName { return true }
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "model", parts[2] == "of", parts[3].hasSuffix(".safetensors") else {
            return false
        }
        let count = parts[3].dropLast(".safetensors".count)
        return [parts[1], count].allSatisfy { $0.count == 5 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    private static func zeroPadded(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}

/// The whole file, with a ``CheckpointError`` that names it on failure.
func readFile(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else {
        throw CheckpointError(.notFound, path: path, "file does not exist")
    }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CheckpointError(.ioFailure, path: path, "cannot read: \(error.localizedDescription)")
    }
}
