import Foundation
import XCTest

/// Hosts made on this machine for tests: each a network namespace (its own interfaces,
/// addresses and ports), joined to the others by veth pairs on 10.77.N.0/24, and a mount
/// namespace per process started in it, where the host's own directory is bound at one shared
/// path: every host sees the same topology paths, each with its own files behind them (no
/// shared filesystem). Needs root (`ip netns`); `make` throws `XCTSkip` where it cannot.
final class NetworkHosts {
    let names: [String]
    /// Each host's address, in `names`' order.
    let addresses: [String]
    /// The path every host sees its own directory at.
    let root: String
    /// Each host's own directory (bound at `root` in its processes).
    let directories: [String]
    private let base: String
    private let namespaces: [String]

    /// The address this (the test's) process has on the hosts' network, when asked for.
    private(set) var ownAddress: String?

    /// - Parameter reachable: also join this process's namespace to the network (an address
    ///   after the hosts'), so a test can talk to the hosts' sockets itself, as a stranger would.
    init(count: Int, base: String, reachable: Bool = false) throws {
        guard getuid() == 0 else { throw XCTSkip("network namespaces need root; this test runs as uid \(getuid())") }
        self.base = base
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        names = (0..<count).map { String(UnicodeScalar(UInt8(97 + $0))) }
        namespaces = names.map { "rlhf-\(tag)-\($0)" }
        let subnet = Int.random(in: 1...250)
        addresses = (0..<count).map { "10.77.\(subnet).\($0 + 1)" }
        root = "\(base)/host"
        directories = names.map { "\(base)/host-\($0)" }
        for d in [root] + directories { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        do {
            for ns in namespaces {
                try Self.sh("ip netns add \(ns) && ip -n \(ns) link set lo up")
            }
            // A bridge in the first namespace, a veth from it to each other host.
            try Self.sh("ip -n \(namespaces[0]) link add br0 type bridge && ip -n \(namespaces[0]) link set br0 up"
                        + " && ip -n \(namespaces[0]) addr add \(addresses[0])/24 dev br0")
            for k in 1..<count {
                let (a, b) = ("v\(tag)\(k)a", "v\(tag)\(k)b")
                try Self.sh("ip link add \(a) netns \(namespaces[0]) type veth peer name \(b) netns \(namespaces[k])"
                            + " && ip -n \(namespaces[0]) link set \(a) master br0 && ip -n \(namespaces[0]) link set \(a) up"
                            + " && ip -n \(namespaces[k]) addr add \(addresses[k])/24 dev \(b) && ip -n \(namespaces[k]) link set \(b) up")
            }
            if reachable {
                let own = "10.77.\(subnet).200"
                let (a, b) = ("v\(tag)0a", "v\(tag)0b")
                // The pair goes when the first namespace (holding one end) is deleted.
                try Self.sh("ip link add \(b) type veth peer name \(a) netns \(namespaces[0])"
                            + " && ip -n \(namespaces[0]) link set \(a) master br0 && ip -n \(namespaces[0]) link set \(a) up"
                            + " && ip addr add \(own)/24 dev \(b) && ip link set \(b) up")
                ownAddress = own
            }
        } catch {
            remove()
            throw XCTSkip("cannot make network namespaces here: \(error)")
        }
    }

    /// `rlhf ARGS` as host `k` runs it: in its network namespace, with its directory at `root`.
    func start(_ k: Int, _ args: [String], output: String) throws -> BackgroundCLI {
        let command = ([CLIProcess.executable] + args).map { "'\($0)'" }.joined(separator: " ")
        let script = "mount --bind '\(directories[k])' '\(root)' && cd '\(root)' && exec \(command)"
        return try BackgroundCLI(program: "/usr/sbin/ip",
                                 ["netns", "exec", namespaces[k], "unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                 outputFile: output)
    }

    /// Host `k`'s network namespace.
    func namespace(_ k: Int) -> String { namespaces[k] }

    /// Removes the namespaces (their interfaces go with them).
    func remove() {
        for ns in namespaces { _ = try? Self.sh("ip netns pids \(ns) | xargs -r kill -9; ip netns del \(ns)") }
    }

    deinit { remove() }

    @discardableResult
    static func sh(_ command: String) throws -> String {
        let r = try CLIProcess.run(shell: command)
        guard r.status == 0 else { throw CLIFailure(description: "\(command): exit \(r.status): \(r.stderr)") }
        return r.stdout
    }
}
