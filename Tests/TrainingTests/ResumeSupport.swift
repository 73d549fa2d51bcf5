import Foundation
import Training
import XCTest

/// A run straight to its end and the same run crashed and resumed, for the exact-resume tests.
struct ResumedRuns {
    var straight: Trainer, resumed: Trainer
    /// The output directories: the straight run's, and the crashed-then-resumed run's.
    var straightOutput: String, output: String
}

extension Fixture {
    /// Metrics fields that measure time, so differ between two runs of the same updates.
    static let timingFields: Set<String> = ["tokens_per_s", "padded_tokens_per_s"]

    /// The same run twice: straight to its end, and crashed `lost` updates after its checkpoint
    /// at step `checkpoint`, then resumed from the latest checkpoint to the end; checks that both
    /// end with the same bits (weights, AdamW state, generators, loop state, saved model files)
    /// and that the resumed `metrics.jsonl` is the straight run's, timing fields aside.
    ///
    /// The crash is made from the straight run: runs are deterministic, so a run killed after
    /// update `checkpoint + lost` leaves exactly the first part of the straight run's files --
    /// its checkpoints up to `checkpoint`, its metrics lines up to the crash (lines past the
    /// checkpoint included, which the resumed run must drop), no final model -- plus, here, the
    /// temporary directory of a save the crash cut short, which the resumed run must remove.
    /// - Parameters:
    ///   - checkpoint: a step at which the straight run saves; `recipe` must log or evaluate at
    ///     least once after it and by `checkpoint + lost`, so that the crash leaves lines to drop.
    ///   - recipe: the run's recipe for an output directory.
    @discardableResult
    static func straightAndResumed(_ stage: TrainingStage, checkpoint: Int, lost: Int,
                                   file: StaticString = #filePath, line: UInt = #line,
                                   _ recipe: (_ output: String) -> TrainingRecipe) throws -> ResumedRuns {
        let fm = FileManager.default
        let straightOutput = temporaryDirectory("straight")
        let straight = try trainer(stage, recipe(straightOutput))
        try straight.train()

        // What the crash leaves.
        let output = temporaryDirectory("crashed")
        try fm.removeItem(atPath: output)
        try fm.copyItem(atPath: straightOutput, toPath: output)
        let crash = checkpoint + lost
        for name in try fm.contentsOfDirectory(atPath: output) {
            let path = output + "/" + name
            var isDirectory: ObjCBool = false
            fm.fileExists(atPath: path, isDirectory: &isDirectory)
            if name.hasPrefix("checkpoint-"), let step = Int(name.dropFirst("checkpoint-".count)) {
                XCTAssertFalse(step > checkpoint && step <= crash, "the straight run saved at \(step), between the checkpoint and the crash",
                               file: file, line: line)
                if step > checkpoint { try fm.removeItem(atPath: path) }
            } else if !isDirectory.boolValue && name != MetricsLog.fileName && name != Trainer.recipeFileName {
                try fm.removeItem(atPath: path)  // the final model: written only at the end
            }
        }
        XCTAssertEqual(RunDirectory(path: output).checkpoints().last?.step, checkpoint, "the straight run saved at the checkpoint",
                       file: file, line: line)
        let metricsPath = output + "/" + MetricsLog.fileName
        let written = try String(contentsOfFile: metricsPath, encoding: .utf8).split(separator: "\n")
        let crashed = try written.filter { try step(parsed($0)) <= crash }
        XCTAssertTrue(try crashed.contains { try step(parsed($0)) > checkpoint }, "the crashed run wrote metrics past its checkpoint",
                      file: file, line: line)
        try Data((crashed.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: metricsPath))
        let cutShort = output + "/.checkpoint-\(crash).tmp-4242"
        try fm.createDirectory(atPath: cutShort, withIntermediateDirectories: false)
        try Data("half a checkpoint".utf8).write(to: URL(fileURLWithPath: cutShort + "/model.safetensors"))

        var again = recipe(output)
        again.resumeFromCheckpoint = "latest"
        let resumed = try trainer(stage, again)
        XCTAssertEqual(resumed.state.globalStep, checkpoint, "resumed at the checkpoint", file: file, line: line)
        XCTAssertFalse(fm.fileExists(atPath: cutShort), "the next run removes the save the crash cut short", file: file, line: line)
        try resumed.train()

        let runs = ResumedRuns(straight: straight, resumed: resumed, straightOutput: straightOutput, output: output)
        try assertSameRun(runs, file: file, line: line)
        return runs
    }

    /// Everything that decides the next update, everything the runs saved, and their metrics
    /// logs are the same bits.
    static func assertSameRun(_ runs: ResumedRuns, file: StaticString, line: UInt) throws {
        let a = runs.straight, b = runs.resumed
        XCTAssertEqual(b.state.globalStep, a.state.globalStep, file: file, line: line)
        XCTAssertEqual(differingBits(weights(b), weights(a)), 0, "weights that differ after resuming", file: file, line: line)
        XCTAssertEqual(b.optimizer.step, a.optimizer.step, file: file, line: line)
        XCTAssertEqual(differingBits(b.optimizer.m.array, a.optimizer.m.array), 0, "AdamW first moments that differ", file: file, line: line)
        XCTAssertEqual(differingBits(b.optimizer.v.array, a.optimizer.v.array), 0, "AdamW second moments that differ", file: file, line: line)
        XCTAssertEqual(b.rng.state, a.rng.state, "the run's generator", file: file, line: line)
        XCTAssertEqual(b.objective.trainable.randomState, a.objective.trainable.randomState, "the parameters' generators", file: file, line: line)
        XCTAssertEqual(b.state.loaderPosition, a.state.loaderPosition, file: file, line: line)
        XCTAssertEqual(b.state.epoch.bitPattern, a.state.epoch.bitPattern, file: file, line: line)
        XCTAssertEqual(b.state.numInputTokensSeen, a.state.numInputTokensSeen, file: file, line: line)
        XCTAssertEqual(b.state.logHistory.map(bitPatterns), a.state.logHistory.map(bitPatterns), "log_history", file: file, line: line)
        XCTAssertEqual(b.state.bestMetric?.bitPattern, a.state.bestMetric?.bitPattern, "best_metric", file: file, line: line)
        XCTAssertEqual(b.state.bestModelCheckpoint.map { ($0 as NSString).lastPathComponent },
                       a.state.bestModelCheckpoint.map { ($0 as NSString).lastPathComponent }, "best_model_checkpoint", file: file, line: line)

        // The final model files, byte for byte (trainer_state.json names its directory; the
        // recipe says it resumed).
        let fm = FileManager.default
        let saved = try fm.contentsOfDirectory(atPath: runs.straightOutput).filter { name in
            var isDirectory: ObjCBool = false
            fm.fileExists(atPath: runs.straightOutput + "/" + name, isDirectory: &isDirectory)
            return !isDirectory.boolValue && ![MetricsLog.fileName, Trainer.recipeFileName, TrainerState.fileName].contains(name)
        }
        XCTAssertTrue(saved.contains("model.safetensors") || saved.contains("adapter_model.safetensors"), "\(saved)", file: file, line: line)
        for name in saved {
            let x = try Data(contentsOf: URL(fileURLWithPath: runs.straightOutput + "/" + name))
            let y = try? Data(contentsOf: URL(fileURLWithPath: runs.output + "/" + name))
            XCTAssertTrue(x == y, "the resumed run's \(name) differs from the straight run's", file: file, line: line)
        }

        // The metrics log reads as one run: the straight run's lines, none repeated, none missing.
        let straightLines = try metricsLines(runs.straightOutput), resumedLines = try metricsLines(runs.output)
        XCTAssertEqual(resumedLines.map(step), straightLines.map(step), "metrics lines by step", file: file, line: line)
        for (x, y) in zip(resumedLines, straightLines) {
            XCTAssertEqual(Set(x.keys), Set(y.keys), "fields of the line at step \(step(y))", file: file, line: line)
            for (key, value) in y where !timingFields.contains(key) {
                XCTAssertEqual((x[key] as? NSNumber)?.doubleValue.bitPattern, (value as? NSNumber)?.doubleValue.bitPattern,
                               "\(key) at step \(step(y)): resumed \(x[key] ?? "none"), straight \(value)", file: file, line: line)
            }
        }
    }

    /// How many elements differ in any bit (a NaN differs from everything, itself included
    /// unless its bits match).
    static func differingBits(_ x: [Float], _ y: [Float]) -> Int {
        x.count == y.count ? zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count : max(x.count, y.count)
    }

    private static func bitPatterns(_ entry: [String: Double]) -> [String: UInt64] { entry.mapValues(\.bitPattern) }

    /// The lines of `directory/metrics.jsonl`, parsed.
    static func metricsLines(_ directory: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: directory + "/" + MetricsLog.fileName, encoding: .utf8)
        return try text.split(separator: "\n").map(parsed)
    }

    private static func parsed(_ line: Substring) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "metrics line \(line)")
    }

    /// A metrics line's step (-1 without one).
    static func step(_ line: [String: Any]) -> Int { (line["step"] as? NSNumber)?.intValue ?? -1 }
}
