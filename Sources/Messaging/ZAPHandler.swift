/// The node's ZAP handler (ZeroMQ RFC 27): a REP socket bound at `inproc://zeromq.zap.01` of the
/// node's context and served on its I/O thread like any other socket. libzmq asks it about every
/// CURVE handshake at this node's servers; it accepts the run's client keys and refuses the rest,
/// counting each refusal on the server it names and reporting each peer address once.
///
/// On the I/O thread because libzmq holds the handshake until the reply comes: a handler on
/// another thread would be one more thread per process and a lock for the counters, for a few
/// microseconds of work per connection.
final class ZAPHandler: IOEndpoint {
    /// Where libzmq sends ZAP requests (fixed by RFC 27).
    static let endpoint = "inproc://zeromq.zap.01"
    /// The handler's id in its loop (ids of servers and clients start at 1).
    static let id = 0
    /// Addresses reported at most: past this, new ones are counted and not logged (a scan from
    /// many addresses must not fill the log, nor this set the memory).
    static let maxReportedAddresses = 1024

    let socket: ZMQSocket
    let counter: StatisticsCounter
    private let core: NodeCore
    private let authorized: Set<CurvePublicKey>
    /// Bound endpoint of each CURVE server, by id, for the reports.
    private var servers: [Int: String] = [:]
    private var reported: Set<String> = []

    init(socket: ZMQSocket, core: NodeCore, authorized: Set<CurvePublicKey>) {
        self.socket = socket
        self.core = core
        self.authorized = authorized
        counter = StatisticsCounter(node: core.totals)
    }

    /// Names the server with `id` in reports.
    func register(server id: Int, endpoint: String) { servers[id] = endpoint }

    func readable(_ loop: IOLoop) throws {
        for _ in 0..<IOLoop.readsPerTurn {
            guard let frames = try socket.receiveFrames(dontWait: true)?.map(\.array) else { return }
            // A REP socket must answer every request before it can read the next one.
            guard let request = ZAPRequest(frames: frames) else {
                try socket.send([Array("1.0".utf8), frames.count > 1 ? frames[1] : [], Array("500".utf8), Array("malformed ZAP request".utf8), [], []])
                continue
            }
            let decision = request.decide(authorized: authorized)
            try socket.send(request.reply(decision))
            guard case .refuse(let server, let key) = decision else { continue }
            if let c = loop.counter(of: server) { c.add(\.unauthorizedKeys) } else { core.totals.withLock { $0.unauthorizedKeys += 1 } }
            if reported.count < Self.maxReportedAddresses, reported.insert(request.address).inserted {
                core.reportRefusal?(PeerRefusal(endpoint: servers[server] ?? request.domain, address: request.address, reason: .unknownKey(key)))
            }
        }
    }

    func nextDeadline() -> UInt64? { nil }
    func fire(_ loop: IOLoop, now: UInt64) {}
    func close(reason: MessagingError) { socket.close() }
}
