import ArgumentParser
import Foundation
import Training

/// `rlhf bench digest`: the cost of the weight digests step 3's trainers compute after every
/// update (the experience log records them), over a model's parameters.
struct BenchDigest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest", abstract: "Time the per-tensor weight digest of a whole model; prints one JSON line.")

    @OptionGroup var options: BenchModelOptions
    @Option(help: "Timed repeats (the best is reported).") var repeats = 5

    func run() throws {
        let model = try options.loadModel()
        let trainable = FullParameters(model: model)
        var digests = WeightDigest.of(trainable)
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            best = min(best, seconds { digests = WeightDigest.of(trainable) })
        }
        let params = trainable.values.count
        var out = options.environmentFields()
        out.merge([
            "bench": "digest", "params": params, "tensors": digests.count, "seconds": best,
            "ms_per_million_params": (best * 1e3 / (Double(params) / 1e6) * 1000).rounded() / 1000,
        ]) { $1 }
        try printJSON(out)
    }
}
