import Messaging

extension TopologySpec {
    /// The CURVE keys of host `host`'s processes (its launcher and every role process it starts):
    /// its key pair from `transport.keys`, every host's public key as the keys its servers
    /// accept, and each role endpoint's server key (the public key of the host the role is on).
    /// Nil when the transport is not tcp, or is tcp marked `insecure`.
    /// - Parameters:
    ///   - host: a key of `hosts`.
    ///   - baseDirectory: as for `runPlan(baseDirectory:)`.
    /// - Throws: `TopologyError` naming the key file that is missing or wrong.
    public func curveSecurity(forHost host: String, baseDirectory: String? = nil) throws -> CurveSecurity? {
        guard transport.kind == .tcp, let keys = transport.keys else { return nil }
        let directory = RunKeyDirectory(path: TopologyPath.resolve(keys, against: baseDirectory))
        let publicKeys = try directory.publicKeys(hosts: hosts.keys)
        let keyPair = try directory.keyPair(host: host, expected: publicKeys[host])
        var serverKeys: [String: CurvePublicKey] = [:]
        for role in activeRoles {
            guard let placed = roles[role]?.host, let key = publicKeys[placed] else { continue }
            for replica in 0..<replicas(of: role) { serverKeys[endpoint(for: role, replica: replica)] = key }
        }
        return CurveSecurity(keyPair: keyPair, authorizedClientKeys: Set(publicKeys.values), serverKeys: serverKeys)
    }
}
