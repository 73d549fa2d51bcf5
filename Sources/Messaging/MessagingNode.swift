import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One per process: a ZeroMQ context and the one I/O thread that owns every socket of it.
///
/// Servers, clients, publishers and subscribers made here are facades: their sockets live on the
/// I/O thread, which polls them together with an inproc wake-up socket for commands from any
/// thread, and hands received messages to Swift concurrency through `AsyncStream`s. Nothing here
/// blocks the cooperative pool: calls queue a command and await its completion.
///
/// `shutdown()` closes every socket, ends every stream, fails every waiting request with
/// `.closed`, joins the thread and terminates the context.
public final class MessagingNode: Sendable {
    /// What a node stamps on what it sends and checks on what it receives.
    public struct Configuration: Sendable, Hashable {
        /// Stamped on every message sent; when not 0, received messages of another run are refused
        /// (counted as `wrongRun`), so a stale process of an earlier run cannot feed this one.
        public var runID: UInt64
        /// This process's role instance id, stamped as `Envelope.sender`.
        public var sender: UInt64
        public var limits: MessageLimits
        /// ZMQ_SNDHWM and ZMQ_RCVHWM of every socket (messages queued per peer).
        public var highWaterMark: Int32
        /// Keys for CURVE on every tcp socket of the node (nil: tcp in clear). Servers accept only
        /// `authorizedClientKeys`, judged by the node's ZAP handler; clients need the server key
        /// of each tcp endpoint they connect to.
        public var curve: CurveSecurity?

        public init(runID: UInt64 = 0, sender: UInt64 = 0, limits: MessageLimits = MessageLimits(), highWaterMark: Int32 = 1000,
                    curve: CurveSecurity? = nil) {
            self.runID = runID
            self.sender = sender
            self.limits = limits
            self.highWaterMark = highWaterMark
            self.curve = curve
        }
    }

    let core: NodeCore
    private let thread: pthread_t
    private let joined = Locked(false)

    /// Creates the context and starts the I/O thread.
    /// - Parameters:
    ///   - configuration: what the node stamps, checks and applies.
    ///   - onRefusedPeer: called on the I/O thread for a peer a CURVE server refused, once per
    ///     peer address (or, for a handshake that failed before its key was read, once per
    ///     server); every refusal is counted whether reported or not. Keep it short: log it.
    public init(_ configuration: Configuration = Configuration(), onRefusedPeer: (@Sendable (PeerRefusal) -> Void)? = nil) throws {
        let context = try ZMQContext()
        let wake = "inproc://messaging-node-wake-\(UUID().uuidString)"
        let receiver = try ZMQSocket(context, .pair)
        try receiver.bind(wake)
        let sender = try ZMQSocket(context, .pair)
        try sender.connect(wake)
        core = NodeCore(configuration: configuration, queue: CommandQueue(wakeSender: sender), reportRefusal: onRefusedPeer)
        let loop = IOLoop(core: core, context: context, wakeReceiver: receiver)
        if let curve = configuration.curve {
            // Before the thread starts (so before any server binds); handed over with the loop.
            try loop.startZAPHandler(authorized: curve.authorizedClientKeys)
        }
        let box = Unmanaged.passRetained(LoopBox(loop)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let loop = Unmanaged<LoopBox>.fromOpaque(arg!).takeRetainedValue().loop
            loop.run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<LoopBox>.fromOpaque(box).release()
            sender.close()
            receiver.close()
            try? context.terminate()
            throw MessagingError(.closed, "pthread_create for the messaging I/O thread failed: errno \(rc)")
        }
        thread = tid
    }

    deinit {
        if pthread_equal(pthread_self(), thread) != 0 {
            // The last reference dropped on the I/O thread itself (inside a command): it cannot
            // join itself, so it stops and lets the thread release its own resources.
            core.post { $0.stop() }
            pthread_detach(thread)
        } else {
            shutdownAndWait()
        }
    }

    /// Counters summed over every server, client, publisher and subscriber of this node,
    /// including closed ones.
    public var statistics: MessagingStatistics { core.totals.withLock { $0 } }

    public var configuration: Configuration { core.configuration }

    /// Stops the I/O thread and waits for it without blocking the cooperative pool.
    public func shutdown() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.shutdownAndWait()
                c.resume()
            }
        }
    }

    /// Stops the I/O thread and joins it (blocks for as long as closing the sockets takes, a few
    /// milliseconds with linger 0). Idempotent; call from a plain thread, or use `shutdown()`.
    public func shutdownAndWait() {
        let first = joined.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        core.post { $0.stop() }
        pthread_join(thread, nil)
    }
}

/// Carries the loop into the new thread (a class, so it can go through an opaque pointer).
private final class LoopBox {
    let loop: IOLoop
    init(_ loop: IOLoop) { self.loop = loop }
}
