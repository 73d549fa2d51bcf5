import ArgumentParser
import Foundation
import Pipeline

/// `rlhf pipeline --config FILE`: the three InstructGPT steps, their evaluations and the
/// SFT-versus-RLHF comparison as one command (Docs/pipeline.md).
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run tokenizer, pre-training, SFT, the reward model and step 3 (through a topology), each evaluated, then compare SFT and RLHF.",
        discussion: """
            Each step runs as the rlhf command a person would type, in its own process, its output prefixed with \
            the step's name and kept under OUTPUT/logs. Steps already done are skipped on a rerun; an interrupted \
            step resumes from its latest checkpoint. Steps: \(PipelineStepName.allCases.map(\.rawValue).joined(separator: ", ")). \
            See Docs/pipeline.md and pipelines/demo.yaml.
            """)

    @Option(help: "The pipeline file (see pipelines/demo.yaml).") var config: String
    @Option(parsing: .singleValue, help: ArgumentHelp(
        "Redo this step (repeatable); every later step that reads its output is redone too.", valueName: "step"))
    var force: [String] = []

    func run() throws {
        var steps: [PipelineStepName] = []
        for name in force {
            guard let step = PipelineStepName(rawValue: name) else {
                throw ValidationError("--force \(name): not a step; the steps are \(PipelineStepName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            steps.append(step)
        }
        let spec = try PipelineParser.load(path: config)
        if steps.contains(.pretrain), spec.pretrain == nil {
            throw ValidationError("--force pretrain: \(config) has no pretrain section")
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let runner = try PipelineRunner(spec: spec, executable: executable, force: steps)
        do {
            _ = try runner.run()
        } catch let interrupted as PipelineInterrupted {
            FileHandle.standardError.write(Data("\(interrupted)\n".utf8))
            throw ExitCode(128 + interrupted.signal)
        }
    }
}
