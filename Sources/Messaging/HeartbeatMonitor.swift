/// A change in whether a peer has been heard from recently.
public enum HeartbeatEvent<Peer: Hashable & Sendable>: Hashable, Sendable {
    /// Nothing heard from `peer` for `silentNanoseconds` (more than the silence limit).
    case silent(peer: Peer, silentNanoseconds: UInt64)
    /// `peer` was heard again after being reported silent.
    case alive(peer: Peer)
}

/// Tracks when each peer was last heard from and reports transitions: a peer silent for longer
/// than the limit once (`.silent`), and once more when it speaks again (`.alive`). A pure state
/// machine over caller-given monotonic times, so it is tested without sockets or sleeping.
public struct HeartbeatMonitor<Peer: Hashable & Sendable>: Sendable {
    public let silenceLimitNanoseconds: UInt64
    private var lastHeard: [Peer: UInt64] = [:]
    private var silent: Set<Peer> = []

    public init(silenceLimitNanoseconds: UInt64) {
        self.silenceLimitNanoseconds = silenceLimitNanoseconds
    }

    /// Starts watching `peer` as if heard at `now` (so a peer that never answers becomes silent).
    public mutating func watch(_ peer: Peer, now: UInt64) {
        if lastHeard[peer] == nil { lastHeard[peer] = now }
    }

    /// Records a message from `peer`; returns `.alive` when it had been reported silent.
    public mutating func heard(from peer: Peer, at now: UInt64) -> HeartbeatEvent<Peer>? {
        lastHeard[peer] = now
        return silent.remove(peer) != nil ? .alive(peer: peer) : nil
    }

    /// Peers that became silent since the last check.
    public mutating func check(at now: UInt64) -> [HeartbeatEvent<Peer>] {
        var events: [HeartbeatEvent<Peer>] = []
        for (peer, t) in lastHeard where !silent.contains(peer) && now >= t && now - t > silenceLimitNanoseconds {
            silent.insert(peer)
            events.append(.silent(peer: peer, silentNanoseconds: now - t))
        }
        return events
    }

    /// The next time at which a watched, not yet silent peer could become silent.
    public func nextDeadline() -> UInt64? {
        lastHeard.filter { !silent.contains($0.key) }.values.min().map { $0 &+ silenceLimitNanoseconds &+ 1 }
    }

    /// Peers currently reported silent.
    public var silentPeers: Set<Peer> { silent }
}
