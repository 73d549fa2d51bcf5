import Foundation
import Pipeline
import Topology
import XCTest

/// The pipeline file, the topology copy and which steps a `--force` redoes, without running steps
/// (PipelineCLITests runs them).
final class PipelineFileTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func testDemoPipeline_parsesWithItsSettings() throws {
        let text = try String(contentsOfFile: "\(Self.root)/pipelines/demo.yaml", encoding: .utf8)
        let spec = try PipelineParser.parse(yaml: text, file: "demo.yaml", checkFiles: false)
        XCTAssertEqual(spec.outputDirectory, "runs")
        XCTAssertEqual(spec.tokenizer, TokenizerSettings(input: ["data/demo/train.jsonl"], vocabSize: 640, characterCoverage: 1.0, modelType: nil))
        XCTAssertEqual(spec.model, ModelInit(config: "recipes/demo-model.json", seed: 42))
        XCTAssertEqual(spec.pretrain, RecipeStep(recipe: "recipes/pt-demo.yaml"))
        XCTAssertEqual(spec.sft, RecipeStep(recipe: "recipes/sft-demo.yaml"))
        XCTAssertEqual(spec.rewardModel, RecipeStep(recipe: "recipes/rm-demo.yaml"))
        XCTAssertEqual(spec.rl, RLSettings(topology: "topologies/grpo-rules-quick.yaml"))
        XCTAssertEqual(spec.evaluation.numPrompts, 300)
        XCTAssertEqual(spec.evaluation.show, 3)
    }

    /// The GRPO variant differs in its output directory and its step 3 only.
    func testDemoGRPOPipeline_isTheDemoWithGRPOAsStep3() throws {
        let demo = try PipelineParser.parse(yaml: String(contentsOfFile: "\(Self.root)/pipelines/demo.yaml", encoding: .utf8),
                                            file: "demo.yaml", checkFiles: false)
        var grpo = try PipelineParser.parse(yaml: String(contentsOfFile: "\(Self.root)/pipelines/demo-grpo.yaml", encoding: .utf8),
                                            file: "demo-grpo.yaml", checkFiles: false)
        XCTAssertEqual(grpo.outputDirectory, "runs-grpo")
        XCTAssertEqual(grpo.rl, RLSettings(topology: "topologies/grpo-rules.yaml"))
        grpo.outputDirectory = demo.outputDirectory
        grpo.rl = demo.rl
        grpo.file = demo.file
        XCTAssertEqual(grpo, demo)
    }

    /// Every fault at once, each at its line and column, with the nearest known key.
    func testFaults_areCollectedWithTheirPlaces() throws {
        let text = """
            output_dir: out
            tokenizer: {input: [], vocab_size: ten}
            model: {config: c.json, sed: 3}
            sft: {overrides: {model_name_or_path: x, max_steps: [1]}}
            rl: {}
            evaluation: {eval_file: e, prompts: p, show: -1}
            extra: 1
            """
        XCTAssertThrowsError(try PipelineParser.parse(yaml: text, file: "p.yaml", checkFiles: false)) { error in
            let lines = (error as? TopologyErrors)?.errors.map(\.description) ?? []
            let expected = [
                "p.yaml:2:20: tokenizer.input: must name at least one file",
                "p.yaml:2:36: tokenizer.vocab_size: expected an integer, got \"ten\"",
                "p.yaml:3:25: model.sed: unknown key (did you mean 'seed'?)",
                "p.yaml:4:19: sft.overrides.model_name_or_path: the pipeline sets this itself",
                "p.yaml:4:53: sft.overrides.max_steps: expected a single value",
                "p.yaml:5:5: rl.topology: required",
                "p.yaml:6:46: evaluation.show: must be at least 0, got -1",
                "p.yaml:7:1: extra: unknown key",
                "reward_model: required",
            ]
            for e in expected {
                XCTAssertTrue(lines.contains { $0.hasPrefix(e) || $0.contains(e) }, "missing \(e) in:\n\(lines.joined(separator: "\n"))")
            }
        }
    }

    /// The copy points the actor, reference, reward model and critic at the pipeline's own
    /// models and the run at its directory; a rule reward and everything else stay as written.
    func testTopologyOverride_pointsAtThePipelinesModels() throws {
        let paths = TopologyOverride.Paths(sft: "/o/sft", rewardModel: "/o/rm", runDirectory: "/o/rl")
        let ppo = try TopologyOverride.apply(paths, toYAML: """
            run: {name: x, directory: runs/ppo}
            models:
              actor: {path: runs/sft, lora: false}
              reward: {path: runs/rm}
            transport: {kind: ipc, directory: runs/ppo/sockets}
            algorithm: {name: ppo, kl_coef: 0.1}
            data: {prompts: data/runs/prompts.jsonl}
            """, file: "t.yaml")
        let spec = try TopologyParser.parse(yaml: ppo, file: "t.yaml", options: .init(checkFiles: false))
        XCTAssertEqual(spec.run.directory, "/o/rl")
        XCTAssertEqual(spec.models.actorPath, "/o/sft")
        XCTAssertEqual(spec.models.referencePath, "/o/sft")
        XCTAssertEqual(spec.models.reward, .model(path: "/o/rm"))
        XCTAssertEqual(spec.models.criticPath, "/o/rm")
        XCTAssertEqual(spec.transport.directory, "/o/rl/sockets")
        XCTAssertNil(spec.models.actorLoRA)
        XCTAssertEqual(spec.algorithm.klCoef, 0.1)
        XCTAssertEqual(spec.data.prompts, "data/runs/prompts.jsonl", "a path that merely contains runs/ is kept")

        let grpo = try TopologyOverride.apply(paths, toYAML: """
            models:
              actor:
                path: runs/sft
              reward:
                rule: demo-tasks
            algorithm: {name: grpo}
            data: {prompts: p.jsonl}
            """, file: "g.yaml")
        let rules = try TopologyParser.parse(yaml: grpo, file: "g.yaml", options: .init(checkFiles: false))
        XCTAssertEqual(rules.models.reward, .rule("demo-tasks"))
        XCTAssertEqual(rules.run.directory, "/o/rl")
        XCTAssertEqual(rules.transport.directory, "/o/rl/sockets", "the default follows the run directory")
    }

    /// `--force X` redoes X and the steps that read its output, directly or not; not the others.
    func testForce_redoesTheStepAndWhatReadsIt() {
        func redone(_ steps: PipelineStepName...) -> [String] {
            PipelineStepName.allCases.filter(PipelineStepName.invalidated(by: Set(steps)).contains).map(\.rawValue)
        }
        XCTAssertEqual(redone(.rewardModel), ["rm", "rm-eval", "rl", "compare"])
        XCTAssertEqual(redone(.sft), ["sft", "sft-eval", "rm", "rm-eval", "rl", "compare"])
        XCTAssertEqual(redone(.sftEval), ["sft-eval"])
        XCTAssertEqual(redone(.compare), ["compare"])
        XCTAssertEqual(redone(.tokenizer), PipelineStepName.allCases.map(\.rawValue))
        XCTAssertEqual(redone(.rl, .rewardEval), ["rm-eval", "rl", "compare"])
    }
}
