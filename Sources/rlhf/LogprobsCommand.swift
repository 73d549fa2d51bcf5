import ArgumentParser
import Foundation
import Model

/// `rlhf logprobs`: per-token log-probabilities and the last position's logits, as JSON.
struct LogprobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logprobs",
        abstract: "Print {\"logprobs\": [...], \"last_logits\": [...]} where logprobs[i] = log p(ids[i+1] | ids[0...i]).")

    @Option(help: "Model directory.") var model: String
    @Option(help: "Token ids, e.g. \"1 5 9\".") var ids: String

    func run() throws {
        let m = try ModelLoading.load(directory: model)
        let tokens = try ModelLoading.parseIDs(ids, vocabSize: m.config.vocabSize, modelDirectory: model)
        let T = tokens.count
        guard T <= m.config.maxPositionEmbeddings else {
            throw UsageError("--ids: \(T) tokens exceed max_position_embeddings \(m.config.maxPositionEmbeddings)")
        }
        let acts = TrainingActivations(model: m, B: 1, T: T)
        let input = tokens.map(Int32.init)
        let targets = (0..<T).map { $0 + 1 < T ? input[$0 + 1] : -1 }
        m.forward(ids: input, acts: acts)
        m.languageModelForward(targets: targets, acts: acts)
        let V = m.config.vocabSize
        let logprobs = (0..<(T - 1)).map { Double(acts.logprobs[$0].pointee) }
        let last = (0..<V).map { Double(acts.logits[(T - 1) * V + $0].pointee) }
        try printJSON(["logprobs": logprobs, "last_logits": last])
    }
}
