import ArgumentParser
import Foundation
import Topology

/// `rlhf keys --topology FILE --out DIR`: the CURVE key pairs of a run's hosts, for
/// `transport.keys` (Docs/topology.md, **Keys**).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make the CURVE keys of a topology's hosts: DIR/HOST.secret (0600) for each host, DIR/public for all.",
        discussion: """
            Over transport tcp every role socket uses CURVE: servers accept only the run's public keys, and each host \
            speaks with its own key pair. Give every host DIR/public and its own DIR/HOST.secret (no other host's), \
            at the path the topology's transport.keys names. A directory that already holds keys is refused.
            """)

    @Option(help: "The topology file (its hosts get keys).") var topology: String
    @Option(help: "Where to write the keys; default: the topology's transport.keys.") var out: String?

    func run() throws {
        // Neither the models nor the keys exist yet on the machine that makes the keys: no
        // file checks, and no host counted as local (whose key files would be checked).
        let spec = try TopologyParser.load(path: topology, options: TopologyValidator.Options(checkFiles: false, localHosts: []))
        guard let given = out ?? spec.transport.keys else {
            throw UsageError("say where the keys go: --out DIR (and give the topology transport.keys: DIR)")
        }
        if spec.transport.kind != .tcp {
            print("note: this topology's transport is \(spec.transport.kind.rawValue); keys are used by tcp only")
        }
        // `~` as the topology's paths read it (relative paths: from this directory, as there).
        let directory = RunKeyDirectory(path: NSString(string: given).expandingTildeInPath)
        try directory.create(hosts: Array(spec.hosts.keys), run: spec.run.name)
        for host in spec.hosts.keys.sorted() { print("\(directory.secretFile(host: host))  (host \(host) only, mode 0600)") }
        print("\(directory.publicFile)  (every host)")
    }
}
