import Foundation
import Messaging
import Topology
import XCTest

/// tcp needs the run's CURVE keys (or `insecure: true` on loopback only), and the key files of
/// the hosts a process launches are checked with the file named; `rlhf keys`'s directory holds
/// a secret file per host (0600) and one public file.
final class TopologyKeysTests: XCTestCase {
    private let minimal = TopologyParserTests.minimal
    private let twoHosts = """

        hosts:
          a: {address: 127.0.0.1}
          b: {address: 10.0.0.2}
        roles:
          actor: {host: a}
          reference: {host: b}
          reward: {host: b, replicas: 2}
          critic: {host: a}
          buffer: {host: a}
        """

    /// The faults of `yaml`, with files checked when asked (the models and data of `minimal`
    /// do not exist here: only the faults at `transport` are returned).
    private func transportFaults(_ yaml: String, checkFiles: Bool = false, localHosts: Set<String>? = nil,
                                 file: StaticString = #filePath, line: UInt = #line) -> [TopologyError] {
        do {
            _ = try TopologyParser.parse(yaml: yaml, file: "t.yaml", options: .init(checkFiles: checkFiles, localHosts: localHosts, allowedCores: [0, 1]))
            return []
        } catch let error as TopologyErrors {
            return error.errors.filter { $0.key.hasPrefix("transport") || $0.key.hasPrefix("hosts") }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    private func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testTcpWithoutKeys_isRefusedNamingTheKey() {
        let errors = transportFaults(minimal + "\ntransport: {kind: tcp}")
        XCTAssertEqual(errors.map(\.code), [.missing])
        XCTAssertTrue(errors[0].description.hasPrefix("t.yaml:6:1: transport.keys: tcp authenticates every peer with CURVE"), errors[0].description)
        XCTAssertTrue(errors[0].message.contains("rlhf keys --topology FILE"), errors[0].message)
        XCTAssertEqual(transportFaults(minimal + "\ntransport: {kind: ipc}"), [], "ipc needs no keys")
    }

    func testInsecure_isAllowedOnLoopbackOnly() {
        XCTAssertEqual(transportFaults(minimal + "\ntransport: {kind: tcp, insecure: true}"), [])
        let remote = transportFaults(minimal + "\ntransport: {kind: tcp, insecure: true}" + twoHosts)
        XCTAssertEqual(remote.map(\.code), [.invalidValue])
        XCTAssertTrue(remote[0].description.contains("transport.insecure: tcp without CURVE lets anyone who reaches a port speak")
                      && remote[0].message.contains("b (10.0.0.2)") && !remote[0].message.contains("a (127.0.0.1)"), remote[0].description)
        let both = transportFaults(minimal + "\ntransport: {kind: tcp, insecure: true, keys: k}")
        XCTAssertEqual(both.map(\.message), ["give transport.keys or transport.insecure: true, not both"])
    }

    /// The files of the hosts this process launches: a missing directory, a missing secret, a
    /// secret readable by others, a secret that is not a key (its text never shown), a public file
    /// without a host: each named.
    func testKeyFiles_missingOrWrong_areRefusedNamingTheFile() throws {
        let dir = try temporaryDirectory(), keys = "\(dir)/keys"
        let yaml = minimal + "\ntransport: {kind: tcp, keys: \(keys)}" + twoHosts
        func only(_ errors: [TopologyError], _ text: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(errors.count, 1, "\(errors)", file: file, line: line)
            XCTAssertTrue(errors.first?.description.contains(text) ?? false, "\(errors)", file: file, line: line)
        }
        only(transportFaults(yaml, checkFiles: true), "\(keys)/public: no public keys here: make the directory with `rlhf keys --topology FILE --out \(keys)`")
        XCTAssertEqual(transportFaults(yaml, checkFiles: false), [], "key files are files: not checked without checkFiles")

        try RunKeyDirectory(path: keys).create(hosts: ["a", "b"], run: "r")
        XCTAssertEqual(transportFaults(yaml, checkFiles: true), [], "host a (loopback) has its files")
        // Host b's launcher has only b's secret (as it should): a's is not looked for there.
        try FileManager.default.removeItem(atPath: "\(keys)/a.secret")
        XCTAssertEqual(transportFaults(yaml, checkFiles: true, localHosts: ["b"]), [])
        only(transportFaults(yaml, checkFiles: true), "\(keys)/a.secret: no secret key for host \"a\"")

        let garbage = "ThisIsNotAKeyButItMustNeverBeShownAnyway!"
        try garbage.write(toFile: "\(keys)/a.secret", atomically: true, encoding: .utf8)
        chmod("\(keys)/a.secret", 0o644)
        only(transportFaults(yaml, checkFiles: true), "chmod 600 \(keys)/a.secret")
        chmod("\(keys)/a.secret", 0o600)
        let notAKey = transportFaults(yaml, checkFiles: true)
        only(notAKey, "\(keys)/a.secret: not a CURVE secret key")
        XCTAssertFalse(notAKey.description.contains(garbage))

        // b's secret in a's file: not the pair of the key `public` gives a.
        try FileManager.default.copyItem(atPath: "\(keys)/b.secret", toPath: "\(dir)/b.secret")
        try FileManager.default.removeItem(atPath: "\(keys)/a.secret")
        try FileManager.default.copyItem(atPath: "\(dir)/b.secret", toPath: "\(keys)/a.secret")
        only(transportFaults(yaml, checkFiles: true), "is not the pair of host \"a\"'s key")

        let publicText = try String(contentsOfFile: "\(keys)/public", encoding: .utf8)
        try publicText.split(separator: "\n").filter { !$0.hasPrefix("b ") }.joined(separator: "\n").write(toFile: "\(keys)/public", atomically: true, encoding: .utf8)
        only(transportFaults(yaml, checkFiles: true), "no public key for host \"b\"")
    }

    func testCreate_writesASecretPerHostReadableByItsOwnerOnly_andRefusesToOverwrite() throws {
        let keys = try temporaryDirectory() + "/keys"
        let directory = RunKeyDirectory(path: keys)
        try directory.create(hosts: ["a", "b"], run: "r")
        func mode(_ path: String) throws -> Int { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) }
        XCTAssertEqual(try mode("\(keys)/a.secret"), 0o600)
        XCTAssertEqual(try mode("\(keys)/b.secret"), 0o600)
        XCTAssertEqual(try mode("\(keys)/public"), 0o644)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: keys).sorted(), ["a.secret", "b.secret", "public"], "no temporary file left")
        let publicKeys = try directory.publicKeys(hosts: ["a", "b"])
        XCTAssertNotEqual(publicKeys["a"], publicKeys["b"])
        XCTAssertEqual(try directory.keyPair(host: "a", expected: publicKeys["a"]).publicKey, publicKeys["a"])
        XCTAssertThrowsError(try directory.create(hosts: ["a"], run: "r")) { error in
            XCTAssertTrue("\(error)".contains("already holds a run's keys"), "\(error)")
        }
        XCTAssertThrowsError(try RunKeyDirectory(path: keys + "2").create(hosts: ["x/y"], run: "r")) { error in
            XCTAssertTrue("\(error)".contains("cannot name a key file"), "\(error)")
        }
    }

    /// Each host's processes get their own pair, accept every host's key, and know the server
    /// key of every role endpoint (the key of the host the role is on, replicas included).
    func testCurveSecurity_ofAHost() throws {
        let keys = try temporaryDirectory() + "/keys"
        try RunKeyDirectory(path: keys).create(hosts: ["a", "b"], run: "r")
        let spec = try TopologyParser.parse(yaml: minimal + "\ntransport: {kind: tcp, base_port: 6000, keys: \(keys)}" + twoHosts,
                                            file: "t.yaml", options: .init(checkFiles: false))
        let publicKeys = try RunKeyDirectory(path: keys).publicKeys(hosts: ["a", "b"])
        let b = try XCTUnwrap(try spec.curveSecurity(forHost: "b"))
        XCTAssertEqual(b.keyPair.publicKey, publicKeys["b"])
        XCTAssertEqual(b.authorizedClientKeys, Set(publicKeys.values))
        XCTAssertEqual(b.serverKeys[spec.endpoint(for: .actor)], publicKeys["a"])
        XCTAssertEqual(b.serverKeys[spec.endpoint(for: .reward, replica: 1)], publicKeys["b"])
        XCTAssertEqual(b.serverKeys.count, 6, "actor, reference, 2 rewards, critic, buffer")
        let ipc = try TopologyParser.parse(yaml: minimal + "\ntransport: {kind: ipc, keys: \(keys)}", file: "t.yaml", options: .init(checkFiles: false))
        XCTAssertNil(try ipc.curveSecurity(forHost: "local"), "ipc uses no keys")
    }
}
