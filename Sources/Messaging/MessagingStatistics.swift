import Foundation

/// Counters of one server, client, publisher or subscriber, and (summed) of a whole node.
/// Hostile or broken traffic shows here instead of crashing anything.
public struct MessagingStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Messages received and decoded (pings included).
    public var received = 0
    /// Messages handed to libzmq.
    public var sent = 0
    /// Received frames that were not a well-formed message (wrong magic, truncated, bad JSON,
    /// tensor count or shape disagreeing with the frames, a shape that overflows).
    public var malformed = 0
    /// Received messages over `MessageLimits` (dropped before being parsed).
    public var oversized = 0
    /// Received messages of an envelope version this build does not read.
    public var unknownVersion = 0
    /// Received messages stamped with another run's id.
    public var wrongRun = 0
    /// Received messages whose sequence number their connection had already used.
    public var replayed = 0
    /// CURVE handshakes the ZAP handler refused: a client key that is not one of the run's.
    public var unauthorizedKeys = 0
    /// Handshakes that failed before a key could be checked: a peer without CURVE, with the
    /// wrong server key, or speaking something that is not ZMTP (libzmq's socket monitor).
    public var failedHandshakes = 0
    /// Requests that got no reply within their timeout.
    public var timeouts = 0
    /// Replies that arrived after their request timed out or was cancelled (dropped).
    public var lateReplies = 0
    /// Messages that could not be sent: the peer's queue full, or the peer gone.
    public var undeliverable = 0
    /// Error replies this side sent for requests it refused (malformed, oversized, ...).
    public var errorRepliesSent = 0
    /// libzmq failures on a socket the I/O thread recovered from (see the node's log hook).
    public var socketErrors = 0

    public init() {}

    /// Every message that was received and refused.
    public var refused: Int { malformed + oversized + unknownVersion + wrongRun + replayed }

    /// Every connection refused before a message could pass (its messages never arrive).
    public var refusedHandshakes: Int { unauthorizedKeys + failedHandshakes }

    public static func + (a: Self, b: Self) -> Self {
        var s = a
        s.received += b.received
        s.sent += b.sent
        s.malformed += b.malformed
        s.oversized += b.oversized
        s.unknownVersion += b.unknownVersion
        s.wrongRun += b.wrongRun
        s.replayed += b.replayed
        s.unauthorizedKeys += b.unauthorizedKeys
        s.failedHandshakes += b.failedHandshakes
        s.timeouts += b.timeouts
        s.lateReplies += b.lateReplies
        s.undeliverable += b.undeliverable
        s.errorRepliesSent += b.errorRepliesSent
        s.socketErrors += b.socketErrors
        return s
    }

    public var description: String {
        "received \(received), sent \(sent), malformed \(malformed), oversized \(oversized), unknownVersion \(unknownVersion), "
            + "wrongRun \(wrongRun), replayed \(replayed), unauthorizedKeys \(unauthorizedKeys), failedHandshakes \(failedHandshakes), timeouts \(timeouts), lateReplies \(lateReplies), undeliverable \(undeliverable), "
            + "errorRepliesSent \(errorRepliesSent), socketErrors \(socketErrors)"
    }
}

/// A value behind a lock, for the few things both the I/O thread and callers touch.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only read or written inside `withLock`, under `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// The counters of one endpoint, also added to its node's totals.
final class StatisticsCounter: Sendable {
    private let own = Locked(MessagingStatistics())
    private let node: Locked<MessagingStatistics>?

    init(node: Locked<MessagingStatistics>?) { self.node = node }

    func add(_ field: WritableKeyPath<MessagingStatistics, Int>, _ n: Int = 1) {
        own.withLock { $0[keyPath: field] += n }
        node?.withLock { $0[keyPath: field] += n }
    }

    /// Counts a refused message under the field its error code names.
    func addRefusal(_ error: MessagingError) {
        switch error.code {
        case .oversized: add(\.oversized)
        case .unknownVersion: add(\.unknownVersion)
        case .wrongRun: add(\.wrongRun)
        case .replayed: add(\.replayed)
        default: add(\.malformed)
        }
    }

    var snapshot: MessagingStatistics { own.withLock { $0 } }
}

/// Nanoseconds of a monotonic clock (deadlines of requests and heartbeats).
func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

extension Duration {
    /// Whole nanoseconds, saturating (negative durations are 0).
    var nanoseconds: UInt64 {
        let (s, a) = components
        if s < 0 { return 0 }
        let (ns, o) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        return o ? UInt64.max : ns &+ UInt64(max(0, a / 1_000_000_000))
    }
}
