/// The failed handshakes of one CURVE server, read from libzmq's socket monitor (a PAIR socket
/// connected to the monitor's inproc endpoint): those that end before the ZAP handler is asked
/// (a peer without CURVE, with the wrong server key, or not speaking ZMTP). Counted on the
/// server; reported once.
final class HandshakeMonitor: IOEndpoint {
    /// The events counted: ZAP refusals (`handshakeFailedAuth`) are the handler's, not counted twice.
    static let events: ZMQMonitorEvent.Kinds = [.handshakeFailedNoDetail, .handshakeFailedProtocol]

    let socket: ZMQSocket
    let counter: StatisticsCounter
    private let core: NodeCore
    private var reported = false

    init(socket: ZMQSocket, counter: StatisticsCounter, core: NodeCore) {
        self.socket = socket
        self.counter = counter
        self.core = core
    }

    func readable(_ loop: IOLoop) throws {
        for _ in 0..<IOLoop.readsPerTurn {
            guard let frames = try socket.receiveFrames(dontWait: true) else { return }
            guard let event = ZMQMonitorEvent(frames: frames), !event.kind.isDisjoint(with: Self.events) else { continue }
            counter.add(\.failedHandshakes)
            if !reported {
                reported = true
                let what = event.kind.contains(.handshakeFailedProtocol) ? "protocol error \(event.value)" : "broken off, errno \(event.value)"
                core.reportRefusal?(PeerRefusal(endpoint: event.endpoint, address: nil, reason: .failedHandshake(what)))
            }
        }
    }

    func nextDeadline() -> UInt64? { nil }
    func fire(_ loop: IOLoop, now: UInt64) {}
    func close(reason: MessagingError) { socket.close() }
}
