import Foundation
import Topology
import Yams

/// Reads pipeline files (YAML, with Yams) into a `PipelineSpec`, as `TopologyParser` reads
/// topologies: unknown keys and wrong types are refused with their line and column, every fault
/// of the file at once (`TopologyErrors`, whose messages read `file:line:column: key: what`).
public enum PipelineParser {
    static let sections = ["output_dir", "tokenizer", "model", "pretrain", "sft", "reward_model", "rl", "evaluation"]
    /// Recipe keys the pipeline sets itself: where each step reads its model and writes its own.
    public static let reservedRecipeKeys = ["model_name_or_path", "output_dir", "resume_from_checkpoint", "ref_model_name_or_path"]

    /// Reads a pipeline file and checks that the files it names exist (relative to the current
    /// directory) and that its topology parses.
    /// - Throws: `TopologyErrors` listing every fault, each with file, line and column.
    public static func load(path: String) throws -> PipelineSpec {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TopologyErrors([TopologyError(.unreadable, file: path, "cannot read the pipeline file: \(error.localizedDescription)")])
        }
        return try parse(yaml: text, file: path)
    }

    /// Reads a pipeline given as text; `file` names it in messages.
    /// - Parameter checkFiles: check that the recipes, data, config and topology exist (and the
    ///   topology parses).
    public static func parse(yaml text: String, file: String, checkFiles: Bool = true) throws -> PipelineSpec {
        let diagnostics = Diagnostics(file: file)
        let top = try YAMLMapping.document(text, file: file, diagnostics: diagnostics,
                                           needs: "a pipeline needs " + sections.joined(separator: ", "))
        top.refuseUnknownKeys(sections)

        let output = top.string("output_dir")
        if output == nil, top.value("output_dir") == nil { top.fail(.missing, "output_dir", "required: the directory every step writes under") }
        let tokenizer = readTokenizer(required(top, "tokenizer", "input and vocab_size of the SentencePiece model"))
        let model = readModel(required(top, "model", "config (an HF config.json) and seed"))
        let pretrain = top.mapping("pretrain").map(readRecipe)
        let sft = required(top, "sft", "recipe (step 1's training recipe)").map(readRecipe)
        let rewardModel = required(top, "reward_model", "recipe (step 2's training recipe)").map(readRecipe)
        let rl = readRL(required(top, "rl", "topology (the step-3 topology file)"))
        let evaluation = readEvaluation(required(top, "evaluation", "eval_file and prompts (held-out data)"))

        if checkFiles {  // also after other faults: every fault of the file at once
            var named: [(section: String, key: String, path: String?)] = (tokenizer?.input ?? []).map { ("tokenizer", "input", $0) }
            named += [("model", "config", model?.config), ("pretrain", "recipe", pretrain?.recipe), ("sft", "recipe", sft?.recipe),
                      ("reward_model", "recipe", rewardModel?.recipe), ("rl", "topology", rl?.topology),
                      ("evaluation", "eval_file", evaluation?.evalFile), ("evaluation", "prompts", evaluation?.prompts)]
            checkFilesExist(named, topology: rl?.topology, top: top)
        }
        guard let output, let tokenizer, let model, let sft, let rewardModel, let rl, let evaluation, diagnostics.errors.isEmpty else {
            throw TopologyErrors(diagnostics.errors)
        }
        return PipelineSpec(file: file, outputDirectory: output, tokenizer: tokenizer, model: model, pretrain: pretrain,
                            sft: sft, rewardModel: rewardModel, rl: rl, evaluation: evaluation)
    }

    // MARK: - Sections

    private static func required(_ top: YAMLMapping, _ name: String, _ what: String) -> YAMLMapping? {
        if top.value(name) == nil { top.fail(.missing, name, "required: \(what)") }
        return top.mapping(name)
    }

    private static func readTokenizer(_ m: YAMLMapping?) -> TokenizerSettings? {
        guard let m else { return nil }
        m.refuseUnknownKeys(["input", "vocab_size", "character_coverage", "model_type"])
        var input: [String]?
        if m.value("input")?.scalar != nil { input = m.string("input").map { [$0] } } else { input = m.stringList("input") }
        if input == nil, m.value("input") == nil { m.fail(.missing, "input", "required: the text files or datasets to train on") }
        if input?.isEmpty == true { m.fail(.invalidValue, "input", "must name at least one file"); input = nil }
        let vocab = m.int("vocab_size")
        if vocab == nil, m.value("vocab_size") == nil { m.fail(.missing, "vocab_size", "required: the tokenizer's vocabulary size") }
        if let vocab, vocab < 1 { m.fail(.invalidValue, "vocab_size", "must be at least 1, got \(vocab)") }
        let coverage = m.double("character_coverage")
        if let coverage, !(coverage > 0 && coverage <= 1) { m.fail(.invalidValue, "character_coverage", "must be in (0, 1], got \(coverage)") }
        let type = m.string("model_type")
        if let type, !["bpe", "unigram"].contains(type) { m.fail(.invalidValue, "model_type", "must be bpe or unigram, got \"\(type)\"") }
        guard let input, let vocab else { return nil }
        return TokenizerSettings(input: input, vocabSize: vocab, characterCoverage: coverage, modelType: type)
    }

    private static func readModel(_ m: YAMLMapping?) -> ModelInit? {
        guard let m else { return nil }
        m.refuseUnknownKeys(["config", "seed"])
        let config = m.string("config")
        if config == nil, m.value("config") == nil { m.fail(.missing, "config", "required: an HF config.json for the random model") }
        var seed: UInt64 = 0
        if let given = m.int("seed") {
            if given < 0 { m.fail(.invalidValue, "seed", "must not be negative, got \(given)") } else { seed = UInt64(given) }
        }
        return config.map { ModelInit(config: $0, seed: seed) }
    }

    private static func readRecipe(_ m: YAMLMapping) -> RecipeStep {
        m.refuseUnknownKeys(["recipe", "overrides"])
        var overrides: [(key: String, value: String)] = []
        if let o = m.mapping("overrides") {
            for key in o.keys {
                if reservedRecipeKeys.contains(key) {
                    o.diagnostics.add(.invalidValue, at: o.keyNode(key), key: o.join(key),
                                      "the pipeline sets this itself (each step reads the previous step's output and writes its own)")
                    continue
                }
                guard let node = o.value(key) else { continue }
                guard node.scalar != nil else {
                    o.fail(.wrongType, key, "expected a single value (a recipe key as a --\(key) flag), got \(describe(node))")
                    continue
                }
                if let value = o.string(key) { overrides.append((key, value)) }
            }
        }
        let recipe = m.string("recipe")
        if recipe == nil, overrides.isEmpty {
            m.fail(.missing, "recipe", "give a recipe file (recipes/*.yaml), overrides, or both")
        }
        return RecipeStep(recipe: recipe, overrides: overrides)
    }

    private static func readRL(_ m: YAMLMapping?) -> RLSettings? {
        guard let m else { return nil }
        m.refuseUnknownKeys(["topology"])
        let topology = m.string("topology")
        if topology == nil, m.value("topology") == nil { m.fail(.missing, "topology", "required: the step-3 topology file (topologies/*.yaml)") }
        return topology.map { RLSettings(topology: $0) }
    }

    private static func readEvaluation(_ m: YAMLMapping?) -> EvaluationSettings? {
        guard let m else { return nil }
        m.refuseUnknownKeys(["eval_file", "prompts", "num_prompts", "show", "max_new_tokens", "batch_size"])
        let evalFile = m.string("eval_file"), prompts = m.string("prompts")
        if evalFile == nil, m.value("eval_file") == nil { m.fail(.missing, "eval_file", "required: held-out records (JSON/JSONL)") }
        if prompts == nil, m.value("prompts") == nil { m.fail(.missing, "prompts", "required: held-out prompts (JSONL)") }
        func positive(_ name: String, _ fallback: Int, minimum: Int = 1) -> Int {
            guard let v = m.int(name) else { return fallback }
            if v < minimum { m.fail(.invalidValue, name, "must be at least \(minimum), got \(v)"); return fallback }
            return v
        }
        let settings = EvaluationSettings(evalFile: evalFile ?? "", prompts: prompts ?? "", numPrompts: positive("num_prompts", 300),
                                          show: positive("show", 3, minimum: 0), maxNewTokens: positive("max_new_tokens", 32),
                                          batchSize: positive("batch_size", 16))
        return evalFile == nil || prompts == nil ? nil : settings
    }

    // MARK: - Files

    /// Records a `missingFile` fault for every named file that does not exist, then the
    /// topology's own faults (its model paths are the pipeline's, so those are not checked here).
    private static func checkFilesExist(_ named: [(section: String, key: String, path: String?)], topology: String?, top: YAMLMapping) {
        var missing = false
        for (section, key, path) in named {
            guard let path, !FileManager.default.fileExists(atPath: path) else { continue }
            let node = top.value(section)?.mapping?.first(where: { $0.key.scalar?.string == key })?.value
            top.diagnostics.add(.missingFile, at: node, key: "\(section).\(key)", "\(path) does not exist (relative paths are relative to \(FileManager.default.currentDirectoryPath))")
            missing = true
        }
        guard !missing, let topology else { return }
        do {
            _ = try TopologyParser.load(path: topology, options: .init(checkFiles: false))
        } catch let errors as TopologyErrors {
            top.diagnostics.append(errors.errors)
        } catch {
            top.diagnostics.add(.unreadable, at: nil, key: "rl.topology", "\(error)")
        }
    }
}
