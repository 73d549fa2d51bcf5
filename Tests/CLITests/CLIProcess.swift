import Foundation
import XCTest

/// Runs the built `rlhf` executable as a real subprocess.
struct CLIProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        var env = environment ?? ProcessInfo.processInfo.environment
        for k in removing { env[k] = nil }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

private final class Marker {}
