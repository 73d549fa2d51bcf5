import Foundation
import Roles
import Topology
import Training

/// Runs a pipeline's steps in order: each training and evaluation step as the `rlhf` command a
/// person would type, in its own process under a `ProcessSupervisor` (its output shown
/// prefixed with the step's name and kept in a log; killed with the pipeline); step 3 as
/// `rlhf launch` on the pipeline's copy of the topology; the comparison in this process.
/// Steps recorded as done in `pipeline_state.json`, whose outputs are still there and none of
/// whose inputs ran again, are skipped; a step interrupted mid-way resumes from its own latest
/// checkpoint (training: `resume_from_checkpoint latest`; step 3: `launch --resume`).
public final class PipelineRunner {
    public let spec: PipelineSpec
    public let layout: PipelineLayout
    /// The `rlhf` executable the steps run.
    let executable: String
    /// Steps to redo from scratch (with every step that reads their outputs).
    let forced: Set<PipelineStepName>
    private var state: PipelineState
    /// Steps run (not skipped) by this invocation: the steps reading their outputs run again.
    private var ran: Set<PipelineStepName> = []
    private let clock = ContinuousClock()

    /// - Parameters:
    ///   - spec: the parsed pipeline file.
    ///   - executable: the `rlhf` program for the steps.
    ///   - force: steps to redo; the steps after them that read their outputs are redone too.
    /// - Throws: when `pipeline_state.json` exists but cannot be read.
    public init(spec: PipelineSpec, executable: String, force: [PipelineStepName]) throws {
        self.spec = spec
        self.layout = PipelineLayout(root: spec.outputDirectory)
        self.executable = executable
        self.forced = PipelineStepName.invalidated(by: Set(force))
        self.state = try PipelineState.read(layout.state, pipeline: spec.file)
    }

    /// The steps of this pipeline, in order (`pretrain` only when the file has it).
    public var steps: [PipelineStepName] {
        PipelineStepName.allCases.filter { $0 != .pretrain || spec.pretrain != nil }
    }

    /// Runs every step that is not done.
    /// - Returns: the comparison of the last step.
    /// - Throws: `PipelineError` naming the step that failed and its log; `PipelineInterrupted`
    ///   when a signal stopped a step.
    public func run() throws -> ModelComparison? {
        try FileManager.default.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
        state.pipeline = spec.file
        let start = clock.now
        if !forced.isEmpty {
            let named = steps.filter(forced.contains)
            say("--force: redoing \(named.map(\.rawValue).joined(separator: ", ")) (a forced step and every step that reads its output)")
        }
        var comparison: ModelComparison?
        for (k, step) in steps.enumerated() {
            let header = "== step \(k + 1)/\(steps.count): \(step.rawValue) (\(step.title))"
            let command = try self.command(for: step)
            switch decide(step, fingerprint: command.fingerprint) {
            case .skip(let reason):
                say("\(header): done, skipped (\(reason))")
                continue
            case .run(let why):
                say(header)
                if let why { say("   " + why) }
            }
            let stepStart = clock.now
            let resume = resumable(step, fingerprint: command.fingerprint)  // before the record below replaces the old one
            state[step] = PipelineState.Step(status: .running, started: PipelineState.now(), fingerprint: command.fingerprint)
            try state.write(layout.state)
            if step == .compare {
                comparison = try compare()
            } else {
                try runChild(step, command, resume: resume)
            }
            let seconds = (clock.now - stepStart).seconds
            state[step]?.status = .done
            state[step]?.finished = PipelineState.now()
            state[step]?.seconds = seconds
            try state.write(layout.state)
            ran.insert(step)
            say("   \(step.rawValue) done in \(formatDuration(seconds)) (total \(formatDuration((clock.now - start).seconds)))")
        }
        if comparison == nil, let saved = try? String(contentsOfFile: layout.comparison, encoding: .utf8) {
            say(saved)  // every step was done: the table of the run that made it
            comparison = try? ComparisonReport.read(layout.summary)
        }
        say("== pipeline finished in \(formatDuration((clock.now - start).seconds)); state in \(layout.state)")
        return comparison
    }

    // MARK: - Skipping

    /// Whether a step runs (and why, when it ran before) or is skipped (and when it was done).
    enum Decision {
        case skip(String)
        case run(String?)
    }

    private func decide(_ step: PipelineStepName, fingerprint: String) -> Decision {
        if forced.contains(step) { return .run(nil) }
        guard let record = state[step], record.status == .done else {
            guard state[step]?.status == .running else { return .run(nil) }
            return .run("\(step.rawValue) was interrupted; running it again" + (resumable(step, fingerprint: fingerprint) ? " from its checkpoint" : ""))
        }
        if let input = step.inputs.first(where: ran.contains) {
            return .run("\(step.rawValue) reads \(input.rawValue)'s output, which was just made again: running it again")
        }
        if let missing = outputs(step).first(where: { !FileManager.default.fileExists(atPath: $0) }) {
            return .run("\(step.rawValue) was done but \(missing) is gone: running it again")
        }
        var reason = "finished \(record.finished ?? "?")"
        if let s = record.seconds { reason += " in \(formatDuration(s))" }
        if record.fingerprint != fingerprint {
            reason += "; note: its settings (command, recipe, config or topology) changed since, --force \(step.rawValue) redoes it"
        }
        return .skip(reason)
    }

    /// The files whose presence shows a step's work is whole (written last, or atomically).
    func outputs(_ step: PipelineStepName) -> [String] {
        func inside(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        switch step {
        case .tokenizer: return [inside(layout.initial, "tokenizer.model")]
        case .initModel: return [inside(layout.initial, "config.json"), inside(layout.initial, "model.safetensors")]
        case .pretrain: return [inside(layout.base, TrainerState.fileName)]
        case .sft: return [inside(layout.sft, TrainerState.fileName)]
        case .sftEval: return [layout.sftEvaluation]
        case .rewardModel: return [inside(layout.rewardModel, TrainerState.fileName)]
        case .rewardEval: return [layout.rewardEvaluation]
        case .rl: return [inside(layout.rlFinal, "config.json")]
        case .compare: return [layout.summary]
        }
    }

    /// Whether an unfinished `step` continues from a checkpoint of its own rather than anew: this
    /// pipeline started it (`running` in the state, so a checkpoint there is its own, not an
    /// earlier run's) with the same settings, it is not forced, none of its inputs was made
    /// again, and a complete checkpoint is there.
    private func resumable(_ step: PipelineStepName, fingerprint: String) -> Bool {
        guard let record = state[step], record.status == .running, record.fingerprint == fingerprint,
              !forced.contains(step), step.inputs.allSatisfy({ !ran.contains($0) }) else { return false }
        return hasCheckpoint(step)
    }

    /// Whether `step` has a complete checkpoint of its own (training and step 3 only).
    private func hasCheckpoint(_ step: PipelineStepName) -> Bool {
        if let dir = trainingDirectory(step) { return !RunDirectory(path: dir).checkpoints().isEmpty }
        return step == .rl && CheckpointState.latest(in: layout.rl) != nil
    }

    /// The output directory of a training step (pre-training, SFT, reward model), nil for others.
    private func trainingDirectory(_ step: PipelineStepName) -> String? {
        switch step {
        case .pretrain: layout.base
        case .sft: layout.sft
        case .rewardModel: layout.rewardModel
        default: nil
        }
    }

    // MARK: - Running

    /// Removes what a fresh run of `step` must not find, then runs its command.
    private func runChild(_ step: PipelineStepName, _ command: StepCommand, resume: Bool) throws {
        let fm = FileManager.default
        var argv = command.argv
        switch step {
        case .pretrain, .sft, .rewardModel:
            let dir = trainingDirectory(step)!
            if resume {
                let latest = RunDirectory(path: dir).checkpoints().last!
                say("   resuming from \(latest.path)")
                argv += ["--resume_from_checkpoint", "latest"]
            } else if fm.fileExists(atPath: dir) {
                try fm.removeItem(atPath: dir)
            }
        case .rl:
            if resume {
                say("   resuming from \(CheckpointState.latest(in: layout.rl)!.path)")
                argv.append("--resume")
            } else if fm.fileExists(atPath: layout.rl) {
                try fm.removeItem(atPath: layout.rl)
            }
            let topology = try TopologyOverride.write(
                source: spec.rl.topology,
                paths: .init(sft: layout.sft, rewardModel: layout.rewardModel, runDirectory: layout.rl), to: layout.topology)
            say("   topology \(spec.rl.topology) -> \(layout.topology) (\(topology.algorithm.algorithm.rawValue), \(topology.schedule.iterations) iterations, roles \(topology.activeRoles.map(\.rawValue).joined(separator: ", ")))")
        default:
            for file in outputs(step) where fm.fileExists(atPath: file) { try fm.removeItem(atPath: file) }
        }
        if let log = command.log, command.freshLog, fm.fileExists(atPath: log) { try fm.removeItem(atPath: log) }
        let child = ChildSpec(name: step.rawValue, argv: [executable] + argv, environment: ["RLHF_NO_REEXEC": "1"],
                              logFile: command.log, finishesRun: true)
        let supervisor = ProcessSupervisor(terminal: .standardOutput)
        // The supervisor turns SIGINT/SIGTERM into events through Dispatch signal sources, which
        // on Linux read a signalfd: a signal reaches it only if no thread takes it first, and
        // the pool's threads block every signal but this (main) thread does not. Blocked here
        // while the step runs; afterwards the comparison (in this process) and the time between
        // steps stop on them as any command does.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let outcome = try runSupervised(supervisor, child)
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        switch outcome.reason {
        case .completed:
            return
        case .childFailed(let exit):
            throw PipelineError("step \(step.rawValue) failed: \(exit.name) \(exit.status); its output is in \(command.log ?? "-")\n"
                + "fix the cause and run the same command again: finished steps are skipped" + (hasCheckpoint(step) ? ", this one resumes from its checkpoint" : ""))
        case .signal(let s):
            throw PipelineInterrupted(signal: s, step: step)
        }
    }

    private func runSupervised(_ supervisor: ProcessSupervisor, _ child: ChildSpec) throws -> SupervisionOutcome {
        let semaphore = DispatchSemaphore(value: 0)
        let box = OutcomeBox()
        Task.detached {
            do {
                try supervisor.start(child)
                box.result = .success(await supervisor.run())
            } catch {
                box.result = .failure(error)
            }
            semaphore.signal()
        }
        semaphore.wait()
        return try box.result!.get()
    }

    // MARK: - Commands

    /// A step's command line (without the executable), where its output is kept, and its fingerprint.
    struct StepCommand {
        var argv: [String]
        var log: String?
        /// Whether the log starts empty each time (evaluations: the file is their report).
        var freshLog = false
        var fingerprint: String
    }

    func command(for step: PipelineStepName) throws -> StepCommand {
        let e = spec.evaluation
        let sftBase = spec.pretrain != nil ? layout.base : layout.initial
        var files: [String] = []
        var argv: [String]
        var log: String? = layout.log(step)
        var freshLog = false
        switch step {
        case .tokenizer:
            let t = spec.tokenizer
            argv = ["tokenizer", "train", "--input"] + t.input + ["--vocab-size", String(t.vocabSize)]
            if let c = t.characterCoverage { argv += ["--character-coverage", String(c)] }
            if let m = t.modelType { argv += ["--model-type", m] }
            argv += ["--out", layout.initial]
        case .initModel:
            argv = ["init", "--config", spec.model.config, "--out", layout.initial, "--seed", String(spec.model.seed)]
            files = [spec.model.config]
        case .pretrain:
            argv = trainArguments("pt", spec.pretrain!, from: layout.initial, to: layout.base)
            files = spec.pretrain!.recipe.map { [$0] } ?? []
        case .sft:
            argv = trainArguments("sft", spec.sft, from: sftBase, to: layout.sft)
            files = spec.sft.recipe.map { [$0] } ?? []
        case .sftEval:
            argv = ["eval", "sft", "--model", layout.sft, "--base", sftBase, "--eval_file", e.evalFile, "--prompts", e.prompts,
                    "--num_prompts", String(e.numPrompts), "--show", String(e.show), "--max_new_tokens", String(e.maxNewTokens),
                    "--batch_size", String(e.batchSize)]
            log = layout.sftEvaluation
            freshLog = true
        case .rewardModel:
            argv = trainArguments("rm", spec.rewardModel, from: layout.sft, to: layout.rewardModel)
            files = spec.rewardModel.recipe.map { [$0] } ?? []
        case .rewardEval:
            argv = ["eval", "rm", "--model", layout.rewardModel, "--eval_file", e.evalFile, "--output", layout.rewardPairs,
                    "--batch_size", String(e.batchSize)]
            log = layout.rewardEvaluation
            freshLog = true
        case .rl:
            argv = ["launch", layout.topology]
            files = [spec.rl.topology]
        case .compare:
            argv = ["compare", layout.sft, layout.rlFinal, layout.rewardModel, e.prompts, String(e.numPrompts),
                    String(e.maxNewTokens), String(e.show), String(e.batchSize)]
            log = layout.comparison
        }
        let contents = files.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "(unreadable \($0))" }
        return StepCommand(argv: argv, log: log, freshLog: freshLog, fingerprint: fingerprint(argv + contents))
    }

    private func trainArguments(_ stage: String, _ step: RecipeStep, from model: String, to output: String) -> [String] {
        var argv = ["train", stage]
        if let recipe = step.recipe { argv += ["--config", recipe] }
        for (key, value) in step.overrides { argv += ["--\(key)", value] }
        return argv + ["--model_name_or_path", model, "--output_dir", output]
    }

    // MARK: - Comparison

    private func compare() throws -> ModelComparison {
        let e = spec.evaluation
        say("   \(e.numPrompts) held-out prompts of \(e.prompts), greedy answers of up to \(e.maxNewTokens) tokens from \(layout.sft) and \(layout.rlFinal)")
        let comparison = try ModelComparison.run(sft: layout.sft, rlhf: layout.rlFinal, rewardModel: layout.rewardModel,
                                                 promptsFile: e.prompts, settings: e)
        let report = ComparisonReport(comparison: comparison, layout: layout, spec: spec, state: state)
        let text = report.text(show: e.show)
        try Data(text.utf8).write(to: URL(fileURLWithPath: layout.comparison), options: .atomic)
        try report.writeJSON(layout.summary)
        say(text)
        return comparison
    }

    /// One line to standard output, unbuffered, so it interleaves in order with the steps'
    /// lines (the supervisor writes those straight to the file descriptor too).
    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// A signal stopped a step; the pipeline exits with 128 + the signal, as a shell reports it.
public struct PipelineInterrupted: Error, Sendable, CustomStringConvertible {
    public let signal: Int32
    public let step: PipelineStepName
    public var description: String {
        "interrupted during \(step.rawValue) (signal \(signal)); run the same command again to continue: finished steps are skipped, an interrupted training step resumes from its latest checkpoint"
    }
}

private final class OutcomeBox: @unchecked Sendable {
    // @unchecked Sendable: written by the task before it signals the semaphore, read after the
    // caller's wait returns; the semaphore orders the two (as AsyncCommand's box).
    var result: Result<SupervisionOutcome, any Error>?
}

/// `42.1s`, `3m05s`, `1h02m`.
func formatDuration(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let s = Int(seconds.rounded())
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
