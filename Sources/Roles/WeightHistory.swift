import Foundation
import Model

/// A trainer's weights (its trainable block) of the versions just before the current one,
/// saved beside its part of a checkpoint. A pipelined run generates and values batch i with
/// version i - max_staleness, so a run resumed at iteration N needs versions N - s ..< N to
/// continue exactly as an uninterrupted run would.
enum WeightHistory {
    static let fileName = "history.safetensors"

    /// Writes `versions` into `directory/history.safetensors` (nothing when empty).
    static func save(_ versions: [Int: [Float]], to directory: String) throws {
        guard !versions.isEmpty else { return }
        let tensors = Dictionary(uniqueKeysWithValues: versions.map { ("version-\($0.key)", HostTensor(shape: [$0.value.count], data: $0.value)) })
        try SafeTensors.write(tensors, to: "\(directory)/\(fileName)")
    }

    /// Reads what `save` wrote: no file, no versions.
    /// - Parameter count: the size of the trainable block each version must have.
    static func load(from directory: String, count: Int) throws -> [Int: [Float]] {
        let path = "\(directory)/\(fileName)"
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        var out: [Int: [Float]] = [:]
        for (name, tensor) in try SafeTensors.read(contentsOf: path) {
            guard name.hasPrefix("version-"), let v = Int(name.dropFirst("version-".count)), v >= 0 else {
                throw RoleError(.checkpoint, "\(path): tensor \(name.prefix(40)) is not named version-N")
            }
            guard tensor.data.count == count else {
                throw RoleError(.checkpoint, "\(path): \(name) has \(tensor.data.count) values; the trainable block has \(count)")
            }
            out[v] = tensor.data
        }
        return out
    }
}
