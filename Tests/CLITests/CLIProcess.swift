import Foundation
import XCTest

/// Runs the built `rlhf` executable as a real subprocess.
struct CLIProcess {
    struct Result {
        var status: Int32
        /// `.exit`, or `.uncaughtSignal` for a crash (a trap's status is the signal number).
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String

        /// Refused the way the tool refuses bad input: a thrown error (exit status 1, "Error: ..."
        /// on stderr), not success and not a crash, whose message holds every one of `phrases`.
        func assertRefused(_ phrases: String..., file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(reason, .exit, "crashed instead of refusing: \(stderr)", file: file, line: line)
            XCTAssertEqual(status, 1, "exit status: \(stderr)", file: file, line: line)
            XCTAssertTrue(stderr.contains("Error: "), "no error message: \(stderr)", file: file, line: line)
            for p in phrases { XCTAssertTrue(stderr.contains(p), "the message should say \"\(p)\": \(stderr)", file: file, line: line) }
        }

        /// Ran to the end with status 0.
        func assertSucceeded(_ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(reason, .exit, "\(what) crashed: \(stderr)", file: file, line: line)
            XCTAssertEqual(status, 0, "\(what): \(stderr)", file: file, line: line)
        }
        func json() throws -> [String: Any] {
            let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(stdout)")
        }
    }

    /// `.build/<config>/rlhf`, beside the test bundle.
    static var executable: String {
        var url = Bundle(for: Marker.self).bundleURL
        while url.pathExtension == "xctest" || url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.appendingPathComponent("rlhf").path
    }

    /// The repository root (for fixtures and data).
    static var repoRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static func run(_ args: [String], environment: [String: String]? = nil, removing: [String] = []) throws -> Result {
        var env = environment ?? ProcessInfo.processInfo.environment
        for k in removing { env[k] = nil }
        return try run(program: executable, args, environment: env)
    }

    /// `/bin/sh -c command`: for limits the tool must run under (`ulimit`).
    static func run(shell command: String) throws -> Result {
        try run(program: "/bin/sh", ["-c", command], environment: ProcessInfo.processInfo.environment)
    }

    private static func run(program: String, _ args: [String], environment: [String: String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, reason: p.terminationReason, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }
}

private final class Marker {}
