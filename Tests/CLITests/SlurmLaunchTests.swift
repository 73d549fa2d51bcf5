import Foundation
import XCTest

/// `rlhf launch` for schedulers: `--slurm` and `--submit` (the batch script itself:
/// TopologyTests' SlurmBatchScriptTests), `--print-commands` per host, `--no-affinity`. The models
/// are stand-ins (validation looks for a `config.json`, and the buffer for the actor's
/// `tokenizer.model`): nothing here runs a role.
final class SlurmLaunchTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = try StepThreeRuns.temporaryDirectory("slurm-launch")
        for model in ["base", "rm"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(model)", withIntermediateDirectories: true)
            try "{}".write(toFile: "\(dir)/\(model)/config.json", atomically: true, encoding: .utf8)
        }
        FileManager.default.createFile(atPath: "\(dir)/base/tokenizer.model", contents: Data())
        try "{\"prompt\": \"2+2?\"}\n".write(toFile: "\(dir)/prompts.jsonl", atomically: true, encoding: .utf8)
        try """
            run: {name: two, directory: \(dir)/run}
            hosts:
              trainer: {address: 10.0.0.1}
              scorer: {address: 10.0.0.2}
            models:
              actor: {path: \(dir)/base}
              reward: {path: \(dir)/rm}
            roles:
              actor: {host: trainer, threads: 2, cores: [0, 1]}
              critic: {host: trainer, threads: 1, cores: [2]}
              buffer: {host: trainer}
              reference: {host: scorer, threads: 3}
              reward: {host: scorer, replicas: 2}
            transport: {kind: tcp, keys: \(dir)/keys}
            data: {prompts: \(dir)/prompts.jsonl}
            """.write(toFile: "\(dir)/two.yaml", atomically: true, encoding: .utf8)
        try StepThreeRuns.succeed(["keys", "--topology", "\(dir)/two.yaml"])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Each host's lines are its own role processes, with their threads and, unless a scheduler
    /// places the CPUs (`--no-affinity`), their cores.
    func testPrintCommands_perHost_areThatHostsRoleProcesses() throws {
        let trainer = try StepThreeRuns.succeed(["launch", "\(dir)/two.yaml", "--host", "trainer", "--print-commands"]).stdout
        let lines = trainer.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "# host trainer: one line per role process, each run in \(FileManager.default.currentDirectoryPath)")
        XCTAssertEqual(lines.dropFirst().map { $0.components(separatedBy: "--role ").last ?? "" }, ["actor", "critic", "buffer"], trainer)
        XCTAssertTrue(lines[1].contains("OPENBLAS_NUM_THREADS=2 RLHF_NO_REEXEC=1 RLHF_THREADS=2 taskset -c 0,1 /"), lines[1])
        XCTAssertTrue(lines[1].hasSuffix("rlhf serve --topology \(dir)/two.yaml --role actor"), lines[1])
        let scorer = try StepThreeRuns.succeed(["launch", "\(dir)/two.yaml", "--host", "scorer", "--print-commands"]).stdout
        XCTAssertEqual(scorer.split(separator: "\n").dropFirst().map { $0.components(separatedBy: " serve ").last ?? "" },
                       ["--topology \(dir)/two.yaml --role reference", "--topology \(dir)/two.yaml --role reward --replica 0",
                        "--topology \(dir)/two.yaml --role reward --replica 1"], scorer)
        let unpinned = try StepThreeRuns.succeed(["launch", "\(dir)/two.yaml", "--host", "trainer", "--print-commands", "--no-affinity"])
        XCTAssertFalse(unpinned.stdout.contains("taskset"), unpinned.stdout)
    }

    /// `--slurm` writes the script into the run directory and says where; a run directory with
    /// a checkpoint is refused before anything is queued, unless `--resume`, which every host's
    /// launcher then gets.
    func testSlurm_writesTheScriptIntoTheRunDirectory_refusingAnEarlierRunUnlessResumed() throws {
        // The machine that writes the script need not hold the hosts' files: each host's launcher
        // checks its own on its node.
        try FileManager.default.removeItem(atPath: "\(dir)/rm")
        try CLIProcess.run(["launch", "\(dir)/two.yaml", "--slurm", "--host", "scorer"]).assertRefused("leave out --host")
        let r = try StepThreeRuns.succeed(["launch", "\(dir)/two.yaml", "--slurm"])
        let script = "\(dir)/run/slurm-job.sh"
        XCTAssertTrue(r.stdout.contains("wrote \(script): one Slurm job step per host, 2 nodes"), r.stdout)
        XCTAssertTrue(r.stdout.contains("host trainer: actor, critic, buffer (the coordinator's host); 3 CPUs; log \(dir)/run/logs/host-trainer.log"),
                      r.stdout)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: script))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/run/logs"), "sbatch writes the job's output there")
        let text = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "\nsrun ").count - 1, 2)
        XCTAssertTrue(text.contains("two.yaml --host scorer --no-affinity >> \(dir)/run/logs/host-scorer.log 2>&1 &"), text)

        try FileManager.default.createDirectory(atPath: "\(dir)/run/checkpoint-4", withIntermediateDirectories: true)
        try #"{"iteration": 4, "policyVersion": 4, "klCoef": 0.1, "runID": "x"}"#
            .write(toFile: "\(dir)/run/checkpoint-4/coordinator_state.json", atomically: true, encoding: .utf8)
        try CLIProcess.run(["launch", "\(dir)/two.yaml", "--slurm"]).assertRefused("holds checkpoints of an earlier run", "--resume")
        try StepThreeRuns.succeed(["launch", "\(dir)/two.yaml", "--slurm", "--resume"])
        let resumed = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertEqual(resumed.components(separatedBy: "--no-affinity --resume >> ").count - 1, 2, resumed)
    }

    /// `--submit` hands the script to sbatch and prints the job id sbatch gives.
    func testSubmit_runsSbatchOnTheScript_andPrintsTheJobID() throws {
        try FileManager.default.createDirectory(atPath: "\(dir)/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"$@\" > \(dir)/sbatch.args\necho '4242;cluster'\n"
            .write(toFile: "\(dir)/bin/sbatch", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(dir)/bin/sbatch")
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "\(dir)/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        let r = try CLIProcess.run(["launch", "\(dir)/two.yaml", "--slurm", "--submit"], environment: environment)
        r.assertSucceeded()
        XCTAssertTrue(r.stdout.contains("submitted as Slurm job 4242; the job's own output: \(dir)/run/logs/slurm-4242.out"), r.stdout)
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/sbatch.args", encoding: .utf8), "--parsable \(dir)/run/slurm-job.sh\n")

        try "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\nexit 1\n"
            .write(toFile: "\(dir)/bin/sbatch", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(dir)/bin/sbatch")
        try FileManager.default.removeItem(atPath: "\(dir)/run/slurm-job.sh")
        try CLIProcess.run(["launch", "\(dir)/two.yaml", "--submit"], environment: environment)
            .assertRefused("failed (status 1): sbatch: error: Batch job submission failed: Invalid partition name")
    }
}
