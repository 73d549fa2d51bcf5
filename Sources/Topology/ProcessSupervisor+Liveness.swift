import Foundation

/// What `ProcessSupervisor.run(liveness:)` watches: which children answer pings, how one is
/// pinged, how often, and how long one may be silent before it is killed.
///
/// The supervisor knows nothing of messaging: `probe` is the caller's (`rlhf launch` pings each
/// role's endpoint with its own ZeroMQ client, Docs/topology.md says why our ping and not
/// libzmq's heartbeats).
public struct LivenessCheck: Sendable {
    /// The children pinged, by `ChildSpec.name`; the others (the coordinator, which serves
    /// nothing) are not watched.
    public var children: Set<String>
    /// Time between rounds of pings; each ping may take this long to be answered.
    public var interval: Duration
    /// How long a child that answered once may then answer no ping before it is killed.
    public var silenceLimit: Duration
    /// Where `silenceLimit` comes from, named in the message (`transport.silence_limit_seconds`).
    public var setting: String
    /// Pings the child named, waiting at most `interval`; true when it answered.
    public var probe: @Sendable (String) async -> Bool

    /// - Parameters:
    ///   - children: the children to ping.
    ///   - interval: time between rounds, and how long a ping may take.
    ///   - silenceLimit: how long a child that answered once may be silent.
    ///   - setting: the name of the setting `silenceLimit` comes from, for the message.
    ///   - probe: pings one child; true when it answered in time.
    public init(children: Set<String>, interval: Duration, silenceLimit: Duration, setting: String,
                probe: @escaping @Sendable (String) async -> Bool) {
        self.children = children
        self.interval = interval
        self.silenceLimit = silenceLimit
        self.setting = setting
        self.probe = probe
    }
}

extension ProcessSupervisor {
    /// Pings the watched children every `check.interval` until cancelled, and kills (SIGKILL)
    /// each one that answered once and then answers none for longer than the limit. A child
    /// killed so ends as any dead child does: `run()` restarts it within its budget or stops the
    /// run naming it, with the silence as the cause.
    func watchLiveness(_ check: LivenessCheck) async {
        var watch = LivenessWatch(silenceLimit: check.silenceLimit)
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let roundStart = clock.now
            let pids = runningChildren.filter { check.children.contains($0.key) }
            let answers = await withTaskGroup(of: (String, Bool).self) { group in
                for name in pids.keys { group.addTask { (name, await check.probe(name)) } }
                return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
            }
            guard !Task.isCancelled else { return }
            let now = clock.now
            watch.keep(only: Set(pids.keys))
            for (name, pid) in pids {
                switch watch.observe(name, pid: pid, answered: answers[name] ?? false, at: now) {
                case .watching?:
                    // Said once per process: from here on its silence kills it.
                    emit(name, "answers pings; watched from now on (killed after \(check.setting) = \(Self.seconds(check.silenceLimit)) without an answer)")
                case .kill(_, _, let silentFor)?:
                    let cause = "answered no ping for \(Self.seconds(silentFor)), over \(check.setting) = \(Self.seconds(check.silenceLimit))"
                    killSilent(name, pid: pid, cause: cause)
                case nil:
                    break
                }
            }
            try? await Task.sleep(until: roundStart + check.interval, clock: clock)
        }
    }

    /// SIGKILLs `name`'s process group if `pid` is still that child's process and nothing is
    /// stopping, recording `cause` for its `ChildExit`. SIGKILL reaches a stopped (SIGSTOP)
    /// process too, which SIGTERM would not until it is continued.
    func killSilent(_ name: String, pid: Int32, cause: String) {
        let current = state.withLock { s -> Bool in
            guard !s.stopping, s.running[pid]?.spec.name == name else { return false }
            s.running[pid]?.cause = cause
            return true
        }
        guard current else { return }
        emit(name, "\(cause): killing it (SIGKILL)")
        if kill(-pid, SIGKILL) != 0 { kill(pid, SIGKILL) }
    }

    /// `3 s`, `2.5 s`: a duration as people write it in a topology file.
    static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        let rounded = (s * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) s" : "\(rounded) s"
    }
}
