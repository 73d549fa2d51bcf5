import ArgumentParser
import Datasets
import Foundation
import Model
import Tasks
import Tokenization
import Training

/// `rlhf eval sft|rm|dpo`: an evaluation for each step, as DeepSpeed-Chat ships one per step.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a trained model: perplexity and generations, reward accuracy, DPO margins.",
        subcommands: [EvalSFT.self, EvalRM.self, EvalDPO.self])
}

/// Options every evaluation shares.
struct EvalDataOptions: ParsableArguments {
    @Option(name: .customLong("eval_file"), help: "Evaluation data (JSON/JSONL file or directory).")
    var evalFile: String

    @Option(name: .customLong("template"), help: "Chat template; default: the one saved with the model.")
    var template: String?

    @Option(name: .customLong("max_seq_length"), help: "Longest sequence in tokens.")
    var maxSeqLength = 512

    @Option(name: .customLong("batch_size"), help: "Examples per forward pass.")
    var batchSize = 16

    @Option(name: .customLong("max_eval_samples"), help: "Use only the first N records.")
    var maxEvalSamples: Int?

    /// The records of `evalFile` read as a run would read training data, tokenized with `model`'s tokenizer.
    func data(model: String, stage: TrainingStage) throws -> TrainingData {
        var recipe = TrainingRecipe()
        recipe.modelNameOrPath = model
        recipe.trainFile = [evalFile]
        recipe.template = template
        recipe.maxSeqLength = maxSeqLength
        recipe.maxTrainSamples = maxEvalSamples
        return try TrainingData(recipe: recipe, stage: stage)
    }
}

// MARK: - eval sft

struct EvalSFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Perplexity on the assistant tokens, and greedy answers of the base and tuned models side by side.",
        discussion: "Answers to the demo tasks are judged by their rule checker, giving each model's accuracy.")

    @Option(help: "The tuned model directory.") var model: String
    @Option(help: "The model before tuning, shown beside it.") var base: String?
    @OptionGroup var data: EvalDataOptions
    @Option(help: "Prompts to generate from (JSON/JSONL); default: the eval file.") var prompts: String?
    @Option(name: .customLong("num_prompts"), help: "Prompts to answer (and check, when they are demo tasks).")
    var numPrompts = 5
    @Option(help: "Answers to print side by side.") var show = 5
    @Option(name: .customLong("max_new_tokens"), help: "Longest answer.") var maxNewTokens = 32

    func run() throws {
        var evalData = try data.data(model: model, stage: .sft)
        let sequences = try evalData.languageModelSequences(evalData.records.train, stage: .sft, packing: false, what: "eval")
        let tokenizer = evalData.tokenizer
        let models = [("tuned", model)] + (base.map { [("base", $0)] } ?? [])
        var summary: [String: Any] = ["eval_file": data.evalFile, "sequences": sequences.count]
        for (name, path) in models {
            let m = try loadTrainedModel(path)
            let pool = ActivationPool(model: m)
            let (loss, targets) = Evaluation.languageModelLoss(model: m, sequences: sequences, batchSize: data.batchSize,
                                                               padID: tokenizer.paddingID, pool: pool)
            print(String(format: "%@ (%@): loss %.4f  perplexity %.3f  over %d assistant tokens", name, path, loss, exp(loss), targets))
            summary["\(name)_loss"] = loss
            summary["\(name)_perplexity"] = exp(loss)
        }

        let promptRecords = try prompts.map { try DatasetReader().read($0).records } ?? evalData.records.train
        let tasks = Array(promptRecords.compactMap(\.promptAndReference).prefix(numPrompts))
        guard !tasks.isEmpty else { return try printJSON(summary) }
        let promptIDs = try tasks.map { try tokenizer.encode(evalData.template.promptSegments($0.conversation)).ids }
        var answers: [String: [String]] = [:]
        for (name, path) in models {
            let generator = Generator(model: try loadTrainedModel(path))
            var texts: [String] = []
            for start in stride(from: 0, to: promptIDs.count, by: data.batchSize) {
                let batch = Array(promptIDs[start..<min(start + data.batchSize, promptIDs.count)])
                let out = try generator.generate(prompts: batch, maxNewTokens: maxNewTokens, stopTokens: [tokenizer.eosID])
                texts += try out.newTokens.map { try tokenizer.decode($0.filter { $0 != tokenizer.eosID }).trimmingCharacters(in: .whitespaces) }
            }
            answers[name] = texts
        }
        let checker = TaskChecker()
        var correct: [String: Int] = [:], checkable = 0
        // Per model and task kind: (right, checked).
        var byKind: [String: [String: (Int, Int)]] = [:]
        for (i, task) in tasks.enumerated() {
            let verdicts = models.map { checker.check(prompt: task.user, response: answers[$0.0]![i]) }
            if verdicts.first != .notATask { checkable += 1 }
            for (j, (name, _)) in models.enumerated() where verdicts[j].isCorrect { correct[name, default: 0] += 1 }
            if let kind = checker.kind(prompt: task.user) {
                for (j, (name, _)) in models.enumerated() {
                    let old = byKind[name, default: [:]][kind.rawValue] ?? (0, 0)
                    byKind[name, default: [:]][kind.rawValue] = (old.0 + (verdicts[j].isCorrect ? 1 : 0), old.1 + 1)
                }
            }
            guard i < show else { continue }
            print("\nprompt: \(task.user)" + (task.reference.map { "\n  reference: \($0)" } ?? ""))
            for (j, (name, _)) in models.enumerated() {
                let mark = verdicts[j] == .notATask ? "" : (verdicts[j].isCorrect ? "  [right]" : "  [wrong]")
                print("  \(name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(answers[name]![i])\(mark)")
            }
        }
        if checkable > 0 {
            print("")
            for (name, _) in models {
                let accuracy = Double(correct[name] ?? 0) / Double(checkable)
                let kinds = byKind[name] ?? [:]
                print(String(format: "%@: %d of %d demo-task answers right (%.1f%%); by task: ", name, correct[name] ?? 0, checkable, 100 * accuracy)
                      + kinds.keys.sorted().map { String(format: "%@ %.3f (%d)", $0, Double(kinds[$0]!.0) / Double(kinds[$0]!.1), kinds[$0]!.1) }
                          .joined(separator: "  "))
                summary["\(name)_task_accuracy"] = accuracy
                summary["\(name)_task_accuracy_by_task"] = kinds.mapValues { Double($0.0) / Double($0.1) }
            }
            summary["checked_prompts"] = checkable
        }
        try printJSON(summary)
    }
}

// MARK: - Shared

/// A trained model for evaluation: a HF directory, or a PEFT adapter directory (a `use_lora`
/// run's output) folded into the base model its `adapter_config.json` names.
func loadTrainedModel(_ directory: String) throws -> Llama {
    let fm = FileManager.default
    let adapterConfig = (directory as NSString).appendingPathComponent(LoRAConfig.fileName)
    guard !fm.fileExists(atPath: (directory as NSString).appendingPathComponent("config.json")),
          fm.fileExists(atPath: adapterConfig) else {
        return try ModelLoading.load(directory: directory)
    }
    guard let base = try LoRAConfig.load(contentsOf: adapterConfig).baseModelNameOrPath else {
        throw UsageError("\(adapterConfig): base_model_name_or_path is not set, so the base model is unknown")
    }
    let model = try ModelLoading.load(directory: base).forAdapters(directory: directory)
    try model.loadAdapters(directory: directory)
    model.mergeAdapters()
    return model
}


/// String fields of each record read back from its JSONL line -- the demo data's `task` and
/// `mistake` -- so evaluations can break their figures down by them. A field is nil where the
/// record does not have it.
func recordLabels(_ examples: [SourceLocation], fields: [String]) -> [[String: String]] {
    var lines: [String: [Substring]] = [:]
    return examples.map { source in
        if lines[source.file] == nil {
            let text = (try? String(contentsOfFile: source.file, encoding: .utf8)) ?? ""
            lines[source.file] = text.split(separator: "\n", omittingEmptySubsequences: false)
        }
        guard let all = lines[source.file], source.line >= 1, source.line <= all.count,
              let object = try? JSONSerialization.jsonObject(with: Data(all[source.line - 1].utf8)) as? [String: Any] else { return [:] }
        return object.filter { fields.contains($0.key) }.compactMapValues { $0 as? String }
    }
}
