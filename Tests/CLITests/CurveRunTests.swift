import Foundation
import XCTest

/// Step 3 over tcp with the run's CURVE keys: the same bits as over ipc, and the secret key in
/// no output, log, experience record or error; tcp without keys is refused before anything
/// starts, and so is `insecure` with a host that is not this machine.
final class CurveRunTests: XCTestCase {
    func testTcpRunWithKeys_givesTheBitsOfAnIpcRun_andShowsNoSecret() throws {
        let dir = try StepThreeRuns.temporaryDirectory("curve-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ipc = try StepThreeRuns.topology(dir, name: "ipc", transport: "ipc")
        try StepThreeRuns.succeed(["launch", ipc])
        let tcp = try StepThreeRuns.topology(dir, name: "tcp", transport: "tcp, base_port: \(StepThreeRuns.basePort())")
        let keys = "\(dir)/tcp-keys"
        let secretFile = try String(contentsOfFile: "\(keys)/local.secret", encoding: .utf8)
        let secret = try XCTUnwrap(secretFile.split(separator: "\n").first { !$0.hasPrefix("#") }.map(String.init))
        XCTAssertEqual(secret.count, 40)
        let launched = try StepThreeRuns.succeed(["launch", tcp])

        let diff = try StepThreeRuns.succeed(["replay", "diff", "\(dir)/ipc", "\(dir)/tcp"])
        XCTAssertTrue(diff.stdout.contains("bit for bit"), diff.stdout)
        XCTAssertEqual(try StepThreeRuns.bytes("\(dir)/ipc/final/model.safetensors"), try StepThreeRuns.bytes("\(dir)/tcp/final/model.safetensors"))
        // Every role served over CURVE and refused nothing (the launcher's pings passed too).
        for role in ["actor", "reference", "reward", "critic"] {
            let log = try String(contentsOfFile: "\(dir)/tcp/logs/\(role).log", encoding: .utf8)
            XCTAssertTrue(log.contains("\(role) traffic at tcp://127.0.0.1:") && log.contains("unauthorizedKeys 0, failedHandshakes 0"), log)
        }

        // The secret nowhere: the launcher's output, --print-commands, the role logs, every file
        // of the run directory (experience log, checkpoints, metrics), nor the errors below.
        var shown = [launched.stdout, launched.stderr, try StepThreeRuns.succeed(["launch", tcp, "--print-commands"]).stdout]
        let made = try StepThreeRuns.topology(dir, name: "again", transport: "tcp, base_port: 7000")
        shown.append(try String(contentsOfFile: made, encoding: .utf8))
        // A secret file readable by others, and one holding another host's key, are refused by
        // name without their content.
        chmod("\(keys)/local.secret", 0o644)
        let loose = try CLIProcess.run(["launch", tcp])
        loose.assertRefused("\(keys)/local.secret", "chmod 600")
        chmod("\(keys)/local.secret", 0o600)
        try FileManager.default.removeItem(atPath: "\(keys)/local.secret")
        try FileManager.default.copyItem(atPath: "\(dir)/again-keys/local.secret", toPath: "\(keys)/local.secret")
        let mixed = try CLIProcess.run(["serve", "--topology", tcp, "--role", "reward"])
        mixed.assertRefused("\(keys)/local.secret", "is not the pair of host \"local\"'s key")
        shown += [loose.stdout, loose.stderr, mixed.stdout, mixed.stderr]
        for (i, text) in shown.enumerated() { XCTAssertFalse(text.contains(secret), "the secret key in output \(i)") }
        let files = FileManager.default.enumerator(atPath: "\(dir)/tcp")?.compactMap { $0 as? String } ?? []
        XCTAssertTrue(files.contains { $0.hasPrefix("experiences/") } && files.contains { $0.hasPrefix("logs/") }, "\(files)")
        for file in files {
            guard let data = FileManager.default.contents(atPath: "\(dir)/tcp/\(file)") else { continue }
            XCTAssertNil(data.range(of: Data(secret.utf8)), "the secret key in \(file)")
        }
    }

    func testTcpWithoutKeys_andInsecureOffLoopback_areRefusedBeforeAnythingStarts() throws {
        let dir = try StepThreeRuns.temporaryDirectory("curve-refused")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bare = try StepThreeRuns.topology(dir, name: "bare", transport: "tcp, keys: \(dir)/none")
        let text = try String(contentsOfFile: bare, encoding: .utf8)
        let noKeys = "\(dir)/no-keys.yaml"
        try text.replacingOccurrences(of: ", keys: \(dir)/none", with: "").write(toFile: noKeys, atomically: true, encoding: .utf8)
        try CLIProcess.run(["launch", noKeys]).assertRefused("transport.keys: tcp authenticates every peer with CURVE", "rlhf keys --topology FILE")
        try CLIProcess.run(["launch", bare]).assertRefused("transport.keys", "\(dir)/none/public: no public keys here")
        let remote = "\(dir)/remote.yaml"
        try (text.replacingOccurrences(of: ", keys: \(dir)/none", with: ", insecure: true") + "\nhosts: {local: {address: 192.0.2.7}}")
            .write(toFile: remote, atomically: true, encoding: .utf8)
        try CLIProcess.run(["launch", remote]).assertRefused("transport.insecure", "local (192.0.2.7)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/bare"), "nothing started")
    }
}
