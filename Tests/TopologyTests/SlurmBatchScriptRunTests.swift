import Foundation
import Topology
import XCTest

/// The batch script run by bash against stand-ins for `scontrol`, `srun` and `scancel`: which node
/// each host gets, the job's exit status, and the steps stopped when the run ends. (A real Slurm:
/// `Scripts/slurm-check`.)
final class SlurmBatchScriptRunTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-script-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: "\(directory)/bin", withIntermediateDirectories: true)
        // srun: records its options, then acts as the step of its host: the host named in
        // STATUS_<host> exits with that status after a moment; the others run until SIGTERM.
        try stub("srun", """
            #!/bin/bash
            for a in "$@"; do case $a in --job-name=*) step=${a#--job-name=};; --nodelist=*) node=${a#--nodelist=};; esac; done
            echo "$step $node" >> "$FAKE/steps"
            echo $$ > "$FAKE/$step.pid"
            host=${step#host-}; var=STATUS_$host
            if [[ -n ${!var:-} ]]; then sleep 0.3; exit "${!var}"; fi
            trap 'echo "$step" >> "$FAKE/stopped"; kill $child 2>/dev/null; exit 143' TERM
            sleep 30 & child=$!
            wait $child
            """)
        try stub("scontrol", "#!/bin/bash\nfor n in $NODES; do echo $n; done\n")
        // scancel --signal=TERM JOBID: SIGTERM to every step still running.
        try stub("scancel", """
            #!/bin/bash
            echo "$*" >> "$FAKE/scancel"
            for f in "$FAKE"/host-*.pid; do kill -TERM "$(cat "$f")" 2>/dev/null; done
            exit 0
            """)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func stub(_ name: String, _ text: String) throws {
        let path = "\(directory)/bin/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    /// Runs the two-host script with the allocation's `nodes` and the given step statuses.
    private func runScript(nodes: [String], statuses: [String: Int]) throws -> (status: Int32, output: String) {
        let yaml = SlurmBatchScriptTests.twoHosts.replacingOccurrences(of: "directory: runs/two", with: "directory: \(directory)/run")
        let text = try SlurmBatchScriptTests.script(yaml).text(topologyPath: "t", command: "c")
        try FileManager.default.createDirectory(atPath: "\(directory)/run/logs", withIntermediateDirectories: true)
        try text.write(toFile: "\(directory)/job.sh", atomically: true, encoding: .utf8)
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = ["\(directory)/job.sh"]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "\(directory)/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["FAKE"] = directory
        environment["NODES"] = nodes.joined(separator: " ")
        environment["SLURM_JOB_ID"] = "77"
        environment["SLURM_JOB_NODELIST"] = nodes.joined(separator: ",")
        for (host, status) in statuses { environment["STATUS_\(host)"] = String(status) }
        bash.environment = environment
        let output = Pipe()
        bash.standardOutput = output
        bash.standardError = output
        try bash.run()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bash.waitUntilExit()
        return (bash.terminationStatus, said)
    }

    private func lines(_ file: String) -> [String] {
        ((try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init).sorted()
    }

    /// A node named like a host takes it, whatever its place; the other host takes the first
    /// node left. The coordinator's step ending with 0 ends the job with 0, the other step
    /// stopped with SIGTERM.
    func testHostNamedLikeANode_runsThere_othersInOrder_andTheCoordinatorsStatusIsTheJobs() throws {
        let run = try runScript(nodes: ["n1", "scorer", "n3"], statuses: ["trainer": 0])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(lines("steps"), ["host-scorer scorer", "host-trainer n1"], run.output)
        XCTAssertEqual(lines("scancel"), ["--signal=TERM 77"], "the steps still running are stopped once")
        XCTAssertEqual(lines("stopped"), ["host-scorer"])
        XCTAssertTrue(run.output.contains("rlhf: host trainer runs on node n1") && run.output.contains("rlhf: the run ended with status 0"),
                      run.output)
    }

    /// The coordinator's step failing fails the job with its status.
    func testCoordinatorsStepFailing_failsTheJobWithItsStatus() throws {
        let run = try runScript(nodes: ["a", "b"], statuses: ["trainer": 3])
        XCTAssertEqual(run.status, 3, run.output)
        XCTAssertEqual(lines("steps"), ["host-scorer b", "host-trainer a"])
        XCTAssertEqual(lines("stopped"), ["host-scorer"])
    }

    /// Another host's step failing first ends the job, non-zero, and stops the coordinator's.
    func testOtherStepFailingFirst_endsTheJob() throws {
        let run = try runScript(nodes: ["a", "b"], statuses: ["scorer": 5])
        XCTAssertEqual(run.status, 5, run.output)
        XCTAssertEqual(lines("stopped"), ["host-trainer"])
        XCTAssertTrue(run.output.contains("host scorer (node b): its step ended with status 5"), run.output)
    }

    /// Fewer nodes than hosts: nothing starts.
    func testFewerNodesThanHosts_startsNothing() throws {
        let run = try runScript(nodes: ["a"], statuses: ["trainer": 0])
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertTrue(run.output.contains("the allocation's nodes (a) are fewer than the topology's hosts (trainer scorer)"), run.output)
        XCTAssertEqual(lines("steps"), [])
    }
}
