
extension TopologyValidator {
    /// tcp needs keys, or `insecure: true` with every host on this machine; the key files of the
    /// hosts this process launches (`Options.localHosts`) must be there and be keys.
    func checkTransportSecurity(_ spec: TopologySpec, _ fail: (TopologyError.Code, [String], String) -> Void) {
        let transport = spec.transport
        let at = ["transport"]
        guard transport.kind == .tcp else { return }  // ipc and inproc never leave the machine: no keys
        if transport.insecure {
            let remote = spec.hosts.values.filter { !$0.isLoopback }.map { "\($0.name) (\($0.address))" }.sorted()
            if !remote.isEmpty {
                fail(.invalidValue, at + ["insecure"], "tcp without CURVE lets anyone who reaches a port speak to the roles: allowed only when every host is loopback; "
                     + "not loopback: \(remote.joined(separator: ", ")). Give transport.keys instead (`rlhf keys --topology FILE --out DIR`)")
            }
            if transport.keys != nil { fail(.invalidValue, at + ["insecure"], "give transport.keys or transport.insecure: true, not both") }
            return
        }
        guard let keys = transport.keys else {
            fail(.missing, at + ["keys"], "tcp authenticates every peer with CURVE: give transport.keys: DIR, then make the run's keys there with "
                 + "`rlhf keys --topology FILE` (or give transport.insecure: true when every host is loopback)")
            return
        }
        for name in spec.hosts.keys.sorted() {
            if let why = RunKeyDirectory.unusableHostName(name) { fail(.invalidValue, ["hosts", name], why) }
        }
        guard options.checkFiles else { return }
        // The hosts whose files this process checks (`fileHosts`: its launcher's or its role's),
        // else those it would pin cores on (loopback by default): a host holds its own secret only.
        let local = options.fileHosts.map { Array($0).sorted() }
            ?? spec.hosts.values.filter { host in options.localHosts.map { $0.contains(host.name) } ?? host.isLoopback }.map(\.name).sorted()
        guard !local.isEmpty else { return }  // a process that launches no host's share reads no key
        let directory = RunKeyDirectory(path: TopologyPath.resolve(keys, against: options.baseDirectory))
        do {
            let publicKeys = try directory.publicKeys(hosts: spec.hosts.keys)
            for host in local { _ = try directory.keyPair(host: host, expected: publicKeys[host]) }
        } catch let error as TopologyError {
            fail(error.code, at + ["keys"], "\(error.file)\(error.line > 0 ? ":\(error.line)" : ""): \(error.message)")
        } catch {
            fail(.invalidValue, at + ["keys"], "\(error)")
        }
    }
}
