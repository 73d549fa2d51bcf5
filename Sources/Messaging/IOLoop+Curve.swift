import Foundation

// MARK: - CURVE on tcp sockets

extension IOLoop {
    /// Whether sockets at `endpoint` get CURVE: tcp ones, on a node configured with keys (ipc
    /// and inproc stay on this machine, where file permissions and the process guard them).
    func usesCurve(_ endpoint: String) -> Bool {
        core.configuration.curve != nil && endpoint.hasPrefix("tcp://")
    }

    /// Binds `socket` at `endpoint` as the server with `id`; over tcp on a node with keys, in
    /// CURVE server mode with its handshakes judged by the node's ZAP handler and its failed
    /// handshakes counted on `counter`.
    /// - Returns: the bound endpoint, and the id of the handshake monitor to close with the server.
    func bindServer(_ socket: ZMQSocket, id: Int, at endpoint: String, counter: StatisticsCounter) throws -> (endpoint: String, companions: [Int]) {
        guard let curve = core.configuration.curve, usesCurve(endpoint) else {
            try socket.bind(endpoint)
            return (try socket.boundEndpoint(), [])
        }
        try socket.makeCurveServer(secretKey: curve.keyPair.secretKey)
        try socket.setZAPDomain(ZAPRequest.domain(serverID: id))
        try socket.bind(endpoint)
        let bound = try socket.boundEndpoint()
        let monitorEndpoint = "inproc://rlhf-handshakes-\(id)-\(UUID().uuidString)"
        try socket.monitor(at: monitorEndpoint, events: HandshakeMonitor.events)
        let events = try ZMQSocket(context, .pair)
        try events.connect(monitorEndpoint)
        let monitorID = core.makeEndpointID()
        add(monitorID, HandshakeMonitor(socket: events, counter: counter, core: core))
        self.endpoint(ZAPHandler.id, as: ZAPHandler.self)?.register(server: id, endpoint: bound)
        return (bound, [monitorID])
    }

    /// Connects `socket` to `endpoint`; over tcp on a node with keys, as a CURVE client with the
    /// node's key pair and the server key the node's `CurveSecurity` gives for that endpoint.
    func connectClient(_ socket: ZMQSocket, to endpoint: String) throws {
        if let curve = core.configuration.curve, usesCurve(endpoint) {
            guard let serverKey = curve.serverKeys[endpoint] else {
                throw MessagingError(.badKey, "\(endpoint): no CURVE server key for this endpoint (CurveSecurity.serverKeys); a tcp client of a node with keys needs one")
            }
            try socket.makeCurveClient(keyPair: curve.keyPair, serverKey: serverKey)
        }
        try socket.connect(endpoint)
    }

    /// The node's ZAP handler, bound before any server so that no CURVE handshake is ever
    /// accepted unjudged (libzmq lets every CURVE client in when no handler is bound).
    func startZAPHandler(authorized: Set<CurvePublicKey>) throws {
        let socket = try ZMQSocket(context, .rep)
        try socket.bind(ZAPHandler.endpoint)
        add(ZAPHandler.id, ZAPHandler(socket: socket, core: core, authorized: authorized))
    }
}
