import Foundation
import Training
import XCTest

/// What Docs/training.md promises about the run directory and the loop's settings around it:
/// interrupted saves are cleaned up, `save_total_limit` spares the best checkpoint,
/// `overwrite_output_dir` starts afresh, `max_grad_norm: 0` turns clipping off.
final class RunDirectoryTests: XCTestCase {
    private func recipe(_ model: String, _ output: String?, maxSteps: Int) -> TrainingRecipe {
        var r = Fixture.recipe(model: model, output: output, trainSamples: 32, evalSamples: 8)
        r.maxSteps = maxSteps
        r.perDeviceTrainBatchSize = 4
        r.loggingSteps = 1
        return r
    }

    /// A crash inside a save leaves `.checkpoint-N.tmp-PID` (and, when it replaced a checkpoint,
    /// `.checkpoint-N.old-PID`); neither is taken for a checkpoint, and the next run removes
    /// both, whether it starts afresh (the crash came in the first save) or resumes.
    func testInterruptedSaves_areRemovedByTheNextRun() throws {
        let model = try Fixture.tinyModelDirectory(seed: 31, hidden: 32, layers: 1)
        let fm = FileManager.default
        func leaveHalfASave(_ output: String, _ name: String) throws -> String {
            let path = output + "/" + name
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data("half".utf8).write(to: URL(fileURLWithPath: path + "/model.safetensors"))
            return path
        }

        // Crashed in its first save: no checkpoint, so a fresh run is not refused, and it cleans up.
        let fresh = Fixture.temporaryDirectory("first-save")
        let first = try leaveHalfASave(fresh, ".checkpoint-2.tmp-4242")
        XCTAssertTrue(RunDirectory(path: fresh).checkpoints().isEmpty, "a temporary directory is not a checkpoint")
        var r = recipe(model, fresh, maxSteps: 2)
        r.saveSteps = 2
        _ = try Fixture.trainer(.sft, r)
        XCTAssertFalse(fm.fileExists(atPath: first), "the next run removes the temporary directory")

        // Crashed in a later save: the resumed run starts from the last whole checkpoint and cleans up.
        let output = Fixture.temporaryDirectory("later-save")
        r = recipe(model, output, maxSteps: 4)
        r.saveSteps = 2
        try Fixture.trainer(.sft, r).train()
        let leftovers = [try leaveHalfASave(output, ".checkpoint-6.tmp-4242"), try leaveHalfASave(output, ".checkpoint-4.old-4243")]
        XCTAssertEqual(RunDirectory(path: output).checkpoints().map(\.step), [2, 4])
        r.maxSteps = 6
        r.resumeFromCheckpoint = "latest"
        let resumed = try Fixture.trainer(.sft, r)
        XCTAssertEqual(resumed.state.globalStep, 4)
        for path in leftovers { XCTAssertFalse(fm.fileExists(atPath: path), "\(path) is left") }
        try resumed.train()
        XCTAssertEqual(RunDirectory(path: output).checkpoints().map(\.step), [2, 4, 6])
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: output).filter { $0.hasPrefix(".") }, [], "nothing temporary after a save")
    }

    /// A learning rate too high to keep improving: the eval loss is lowest after the first update
    /// and jumps about after (the test checks that it does). The limit then keeps the best
    /// checkpoint and the newest (the one to resume from; with a limit of 1 both stay, as in
    /// transformers), deleting the others oldest first.
    func testSaveTotalLimit_neverDeletesTheBestCheckpoint() throws {
        let model = try Fixture.tinyModelDirectory(seed: 32, hidden: 32, layers: 1)
        let steps = 6
        for limit in [1, 2, 3] {
            let output = Fixture.temporaryDirectory("limit-\(limit)")
            var r = recipe(model, output, maxSteps: steps)
            r.learningRate = 0.5
            r.evalSteps = 1
            r.saveSteps = 1
            r.saveTotalLimit = limit
            let trainer = try Fixture.trainer(.sft, r)
            try trainer.train()
            let evals = trainer.state.logHistory.filter { $0["eval_loss"] != nil }
            XCTAssertEqual(evals.map { Int($0["step"]!) }, Array(1...steps))
            let losses = evals.map { $0["eval_loss"]! }
            let best = try XCTUnwrap(losses.indices.min { losses[$0] < losses[$1] }) + 1
            let newest = Array(max(1, steps - max(limit, 2) + 2)...steps)
            XCTAssertFalse(newest.contains(best), "for this test to mean anything the best evaluation must come before the newest checkpoints: \(losses)")
            XCTAssertEqual(trainer.state.bestModelCheckpoint, RunDirectory(path: output).checkpointPath(step: best))
            XCTAssertEqual(RunDirectory(path: output).checkpoints().map(\.step), [best] + newest, "save_total_limit \(limit), eval losses \(losses)")
        }
    }

    /// `overwrite_output_dir` removes the earlier run's checkpoints and metrics: what is left is
    /// what the same run leaves in an empty directory.
    func testOverwriteOutputDir_removesTheOldCheckpointsAndMetrics() throws {
        let model = try Fixture.tinyModelDirectory(seed: 33, hidden: 32, layers: 1)
        let output = Fixture.temporaryDirectory("overwritten"), clean = Fixture.temporaryDirectory("clean")
        var old = recipe(model, output, maxSteps: 6)
        old.saveSteps = 2
        old.seed = 5
        try Fixture.trainer(.sft, old).train()
        XCTAssertEqual(RunDirectory(path: output).checkpoints().map(\.step), [2, 4, 6])

        var new = recipe(model, output, maxSteps: 3)
        new.saveSteps = 3
        new.overwriteOutputDir = true
        try Fixture.trainer(.sft, new).train()
        new.outputDir = clean
        new.overwriteOutputDir = false
        try Fixture.trainer(.sft, new).train()

        XCTAssertEqual(RunDirectory(path: output).checkpoints().map(\.step), [3], "only the new run's checkpoint")
        let lines = try Fixture.metricsLines(output), cleanLines = try Fixture.metricsLines(clean)
        XCTAssertEqual(lines.map(Fixture.step), cleanLines.map(Fixture.step), "only the new run's metrics lines")
        XCTAssertEqual(lines.map { ($0["loss"] as? NSNumber)?.doubleValue.bitPattern }, cleanLines.map { ($0["loss"] as? NSNumber)?.doubleValue.bitPattern })
        for name in ["model.safetensors", "checkpoint-3/model.safetensors", "checkpoint-3/optimizer.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output + "/" + name)), try Data(contentsOf: URL(fileURLWithPath: clean + "/" + name)), name)
        }
    }

    /// `max_grad_norm: 0` updates with the raw gradient: the same bits as a bound no gradient
    /// reaches, and not those of a bound it does reach; the norm is still logged.
    func testMaxGradNormZero_disablesClipping() throws {
        let model = try Fixture.tinyModelDirectory(seed: 34, hidden: 32, layers: 1)
        func run(_ maxGradNorm: Double) throws -> (weights: [Float], norms: [Double]) {
            var r = recipe(model, nil, maxSteps: 3)
            r.maxGradNorm = maxGradNorm
            let trainer = try Fixture.trainer(.sft, r)
            var norms: [Double] = []
            while trainer.state.globalStep < trainer.totalSteps { norms.append(trainer.step().gradNorm) }
            return (Fixture.weights(trainer), norms)
        }
        let off = try run(0), unreachable = try run(1e30)
        XCTAssertEqual(Fixture.differingBits(off.weights, unreachable.weights), 0, "max_grad_norm 0 clips")
        XCTAssertEqual(off.norms.map(\.bitPattern), unreachable.norms.map(\.bitPattern), "the norm before clipping is reported either way")
        let bound = off.norms.min()! / 2
        XCTAssertTrue(off.norms.allSatisfy { $0 > 0 && $0.isFinite }, "\(off.norms)")
        let clipped = try run(bound)
        XCTAssertNotEqual(Fixture.differingBits(off.weights, clipped.weights), 0, "a bound under every norm (\(bound)) changes the updates")
    }
}
