import ArgumentParser
import Foundation
import Roles
import Topology

/// `rlhf launch FILE --slurm [--submit]`: the run as a Slurm batch job, one job step per host
/// (`SlurmBatchScript`; Docs/topology.md, "Slurm").
extension LaunchCommand {
    /// Writes `RUN/slurm-job.sh` and prints its path and steps; with `--submit`, submits it with
    /// `sbatch` and prints the job id.
    func writeSlurmScript(_ spec: TopologySpec) throws {
        if let host { throw UsageError("--host \(host): --slurm starts every host's share, each as its own job step; leave out --host") }
        let plan = try spec.runPlan()
        // Refused here rather than by the coordinator once the job has waited in the queue.
        if !resume, CheckpointState.latest(in: plan.directory) != nil {
            throw UsageError("\(plan.directory) holds checkpoints of an earlier run; resume it (--resume) or choose another run directory")
        }
        let topologyPath = URL(fileURLWithPath: topology).standardizedFileURL.path
        let yaml = try String(contentsOfFile: topology, encoding: .utf8)
        let options = (resume ? ["--resume"] : []) + (singleProcess ? ["--single-process"] : [])
        let script = try SlurmBatchScript(
            spec: spec, hostOrder: SlurmBatchScript.hostOrder(of: spec, yaml: yaml),
            executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
            topologyPath: topologyPath, workingDirectory: FileManager.default.currentDirectoryPath, launchOptions: options)
        if singleProcess, script.steps.count > 1 {
            throw UsageError("--single-process runs every role in one process: a topology with roles on \(script.steps.count) hosts cannot")
        }
        // sbatch opens the job's output file in logs/ before the script runs: it must exist.
        try FileManager.default.createDirectory(atPath: script.logDirectory, withIntermediateDirectories: true)
        let path = (plan.directory as NSString).appendingPathComponent("slurm-job.sh")
        let command = ShellWord.commandLine(["rlhf", "launch", topology] + options + ["--slurm"])
        try script.text(topologyPath: topologyPath, command: command).write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        print("wrote \(path): one Slurm job step per host, \(script.steps.count) node\(script.steps.count == 1 ? "" : "s")")
        for step in script.steps {
            let coordinator = step.holdsCoordinator ? " (the coordinator's host)" : ""
            print("  host \(step.host): \(step.processes.joined(separator: ", "))\(coordinator); \(step.cpus) CPU\(step.cpus == 1 ? "" : "s"); log \(step.logFile)")
        }
        guard submit else {
            print("submit it with: sbatch \(ShellWord.quote(path))")
            return
        }
        let job = try submitToSlurm(path)
        print("submitted as Slurm job \(job); the job's own output: \(script.logDirectory)/slurm-\(job).out; stop it with: scancel \(job)")
    }

    /// `sbatch --parsable PATH`: the job id.
    private func submitToSlurm(_ path: String) throws -> String {
        let sbatch = Process()
        sbatch.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sbatch.arguments = ["sbatch", "--parsable", path]
        let output = Pipe(), errors = Pipe()
        sbatch.standardOutput = output
        sbatch.standardError = errors
        do {
            try sbatch.run()
        } catch {
            throw UsageError("cannot run sbatch (\(error.localizedDescription)); the script is at \(path)")
        }
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sbatch.waitUntilExit()
        // --parsable prints "JOBID" or "JOBID;CLUSTER".
        let job = out.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) } ?? ""
        guard sbatch.terminationStatus == 0, !job.isEmpty, job.allSatisfy(\.isNumber) else {
            let said = err.trimmingCharacters(in: .whitespacesAndNewlines)
            throw UsageError("sbatch \(path) failed (status \(sbatch.terminationStatus))\(said.isEmpty ? "" : ": \(said)")")
        }
        return job
    }
}
