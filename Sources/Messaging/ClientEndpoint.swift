/// The I/O-thread side of a `MessageClient`: the requests waiting for replies, their deadlines, and
/// the heartbeat timer.
final class ClientEndpoint: IOEndpoint {
    let socket: ZMQSocket
    let core: NodeCore
    let counter: StatisticsCounter
    private let endpoint: String
    private let sequences: Locked<UInt64>

    private struct Waiting {
        let continuation: CheckedContinuation<Message, Error>
        let deadline: UInt64
    }
    private var waiting: [UInt64: Waiting] = [:]
    /// Sequences cancelled before their request reached this thread.
    private var cancelledEarly: Set<UInt64> = []

    private struct Heartbeat {
        var interval: UInt64
        var nextPing: UInt64
        var monitor: HeartbeatMonitor<String>
        let events: AsyncStream<HeartbeatEvent<String>>.Continuation
    }
    private var heartbeat: Heartbeat?

    init(socket: ZMQSocket, core: NodeCore, endpoint: String, counter: StatisticsCounter, sequences: Locked<UInt64>) {
        self.socket = socket
        self.core = core
        self.endpoint = endpoint
        self.counter = counter
        self.sequences = sequences
    }

    // MARK: - Commands

    func start(sequence: UInt64, frames: [FrameBytes], deadline: UInt64, continuation: CheckedContinuation<Message, Error>) {
        if cancelledEarly.remove(sequence) != nil { return continuation.resume(throwing: CancellationError()) }
        do {
            try sendNow(frames)
        } catch {
            return continuation.resume(throwing: error)
        }
        waiting[sequence] = Waiting(continuation: continuation, deadline: deadline)
    }

    func sendNow(_ frames: [FrameBytes]) throws {
        guard try socket.send(frames: frames, dontWait: true) else {
            counter.add(\.undeliverable)
            throw MessagingError(.queueFull, "\(endpoint): the send queue is at its high-water mark")
        }
        counter.add(\.sent)
    }

    func cancel(sequence: UInt64) {
        if let w = waiting.removeValue(forKey: sequence) {
            w.continuation.resume(throwing: CancellationError())
        } else {
            cancelledEarly.insert(sequence)
        }
    }

    func startHeartbeats(interval: UInt64, silenceLimit: UInt64, continuation: AsyncStream<HeartbeatEvent<String>>.Continuation) {
        heartbeat?.events.finish()
        let now = monotonicNanoseconds()
        var monitor = HeartbeatMonitor<String>(silenceLimitNanoseconds: silenceLimit)
        monitor.watch(endpoint, now: now)
        heartbeat = Heartbeat(interval: interval, nextPing: now, monitor: monitor, events: continuation)
    }

    // MARK: - I/O

    func readable(_ loop: IOLoop) throws {
        for _ in 0..<IOLoop.readsPerTurn {
            guard let frames = try socket.receiveFrames(dontWait: true) else { return }
            let message: Message
            do {
                message = try MessageCodec.decode(frames[...], limits: core.configuration.limits, runID: core.configuration.runID)
            } catch let error as MessagingError {
                counter.addRefusal(error)  // a reply cannot be answered: dropped and counted
                continue
            }
            counter.add(\.received)
            if let event = heartbeat?.monitor.heard(from: endpoint, at: monotonicNanoseconds()) { heartbeat?.events.yield(event) }
            guard let w = waiting.removeValue(forKey: message.envelope.sequence) else {
                if message.kind != .pong { counter.add(\.lateReplies) }  // heartbeat pongs are expected
                continue
            }
            if let remote = message.remoteError {
                w.continuation.resume(throwing: remote)
            } else {
                w.continuation.resume(returning: message)
            }
        }
    }

    func nextDeadline() -> UInt64? {
        var d = waiting.values.lazy.map(\.deadline).min()
        if let h = heartbeat {
            d = min(d ?? h.nextPing, h.nextPing)
            if let m = h.monitor.nextDeadline() { d = min(d!, m) }
        }
        return d
    }

    func fire(_ loop: IOLoop, now: UInt64) {
        for (sequence, w) in waiting where w.deadline <= now {
            waiting[sequence] = nil
            counter.add(\.timeouts)
            w.continuation.resume(throwing: MessagingError(.timeout, "\(endpoint): no reply to request \(sequence) in time"))
        }
        guard var h = heartbeat else { return }
        for event in h.monitor.check(at: now) { h.events.yield(event) }
        if h.nextPing <= now {
            h.nextPing = now &+ h.interval
            let sequence = sequences.withLock { $0 += 1; return $0 }
            if let frames = try? MessageCodec.encode(core.stamp(Message(kind: .ping), sequence: sequence)) {
                try? sendNow(frames)  // a full queue is itself a sign of trouble the monitor reports
            }
        }
        heartbeat = h
    }

    func close(reason: MessagingError) {
        socket.close()
        for w in waiting.values { w.continuation.resume(throwing: reason) }
        waiting = [:]
        heartbeat?.events.finish()
        heartbeat = nil
    }
}
