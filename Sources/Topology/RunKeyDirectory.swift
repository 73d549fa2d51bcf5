import Foundation
import Messaging
import Model

/// A run's CURVE keys (`transport.keys`), one key pair per host:
/// - `public`: every host's public key, a line `HOST KEY` each (`#` starts a comment). Every host
///   gets this file.
/// - `HOST.secret`: that host's secret key, one line of 40 Z85 characters, mode 0600. Only host
///   HOST gets it: its launcher and every role process it starts speak as that host.
///
/// Per host rather than per role: a host is the unit that holds files and is trusted or not;
/// its processes are started by one launcher from one directory, so per-role keys there would
/// sit side by side and protect nothing more, while a host given another host's secret could
/// not be told from it either way.
public struct RunKeyDirectory: Sendable {
    /// The directory, as the topology's paths resolve it.
    public let path: String

    public init(path: String) { self.path = path }

    public static let publicFileName = "public"

    /// `DIR/public`.
    public var publicFile: String { (path as NSString).appendingPathComponent(Self.publicFileName) }

    /// `DIR/HOST.secret`.
    public func secretFile(host: String) -> String { (path as NSString).appendingPathComponent("\(host).secret") }

    /// Why `host` cannot name a key file, or nil when it can.
    public static func unusableHostName(_ host: String) -> String? {
        if host.isEmpty || host.contains("/") || host.hasPrefix(".") || host == Self.publicFileName {
            return "host name \"\(host)\" cannot name a key file (no '/', no leading '.', not \"\(Self.publicFileName)\")"
        }
        return nil
    }

    // MARK: - Writing

    /// Makes a key pair for each of `hosts` and writes `HOST.secret` (0600) and `public` (0644),
    /// each to a temporary file renamed into place. Refuses a directory that already holds keys:
    /// hosts may be running with them.
    public func create(hosts: [String], run: String) throws {
        if let bad = hosts.lazy.compactMap(Self.unusableHostName).first {
            throw TopologyError(.invalidValue, file: path, key: "hosts", bad)
        }
        if FileManager.default.fileExists(atPath: publicFile) {
            throw TopologyError(.invalidValue, file: publicFile,
                                "this directory already holds a run's keys; remove it to make new ones (every host then needs its new secret file)")
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var publicLines = ["# CURVE public keys of run \"\(run)\", one line per host (rlhf keys). Every host gets this file."]
        for host in hosts.sorted() {
            let pair = try CurveKeyPair.generate()
            let secret = "# CURVE secret key of host \"\(host)\" of run \"\(run)\" (rlhf keys). Give this file to host \(host) only.\n"
                + pair.secretKey.z85Secret + "\n"
            try AtomicFile.write(Data(secret.utf8), to: secretFile(host: host), mode: 0o600)
            publicLines.append("\(host) \(pair.publicKey)")
        }
        try AtomicFile.write(Data((publicLines.joined(separator: "\n") + "\n").utf8), to: publicFile, mode: 0o644)
    }

    // MARK: - Reading

    /// Every host's public key from `public`, which must name each of `hosts`.
    /// - Throws: `TopologyError` naming the file (and line) that is missing or wrong.
    public func publicKeys(hosts: some Sequence<String>) throws -> [String: CurvePublicKey] {
        guard let text = try? String(contentsOfFile: publicFile, encoding: .utf8) else {
            throw TopologyError(.missingFile, file: publicFile, key: "transport.keys",
                                "no public keys here: make the directory with `rlhf keys --topology FILE --out \(path)`")
        }
        var keys: [String: CurvePublicKey] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "),
                  let key = CurvePublicKey(z85: String(line[line.index(after: space)...])) else {
                throw TopologyError(.invalidValue, file: publicFile, line: i + 1, key: "transport.keys", "expected `HOST KEY` (a CURVE public key: 40 Z85 characters)")
            }
            keys[line[..<space].trimmingCharacters(in: .whitespaces)] = key
        }
        for host in hosts where keys[host] == nil {
            throw TopologyError(.missingFile, file: publicFile, key: "transport.keys",
                                "no public key for host \"\(host)\" (keys made for another topology? run `rlhf keys` again)")
        }
        return keys
    }

    /// Host `host`'s key pair from `HOST.secret`, checked against the public key `public` gives it.
    /// - Throws: `TopologyError` naming the file: missing, readable by others, not a key, or not
    ///   the pair of `expected`. The secret itself is never in a message.
    public func keyPair(host: String, expected: CurvePublicKey?) throws -> CurveKeyPair {
        let file = secretFile(host: host)
        var info = stat()
        guard stat(file, &info) == 0 else {
            throw TopologyError(.missingFile, file: file, key: "transport.keys",
                                "no secret key for host \"\(host)\": copy it from the directory `rlhf keys` wrote (each host gets its own only)")
        }
        if info.st_mode & 0o077 != 0 {
            throw TopologyError(.invalidValue, file: file, key: "transport.keys",
                                "a secret key must be readable by its owner only (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 \(file)")
        }
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty && !$0.hasPrefix("#") }
        guard let line, let secret = CurveSecretKey(z85Secret: line) else {
            throw TopologyError(.invalidValue, file: file, key: "transport.keys", "not a CURVE secret key (one line of 40 Z85 characters, as `rlhf keys` writes)")
        }
        let pair = try CurveKeyPair(secretKey: secret)
        if let expected, pair.publicKey != expected {
            throw TopologyError(.invalidValue, file: file, key: "transport.keys",
                                "this secret key is not the pair of host \"\(host)\"'s key in \(publicFile) (files of two runs mixed?)")
        }
        return pair
    }
}
