/// Which supervised children have gone silent, from the answers to pings the caller sends.
///
/// A child is watched from its first answer on: before it, its process is loading its model and
/// has bound no endpoint, so its silence says nothing (a restarted child starts over, told apart
/// by its new pid). A watched child that then answers no ping for longer than `silenceLimit` is
/// to be killed, once. A pure state machine over caller-given times, tested without processes
/// or sockets (`LivenessWatchTests`); `ProcessSupervisor.run(liveness:)` drives it.
public struct LivenessWatch: Sendable {
    /// What the caller must do.
    public enum Action: Sendable, Equatable {
        /// `name`'s process `pid` answered for the first time: watched from now on.
        case watching(name: String, pid: Int32)
        /// Kill `name`'s process `pid`: its last answer was `silentFor` ago.
        case kill(name: String, pid: Int32, silentFor: Duration)
    }

    private enum Phase: Sendable {
        /// Started, no answer yet: not watched.
        case starting
        case answering(lastHeard: ContinuousClock.Instant)
        /// Already reported; its end is the supervisor's business.
        case killed
    }

    private struct Child: Sendable {
        var pid: Int32
        var phase: Phase
    }

    /// How long a watched child may answer no ping.
    public let silenceLimit: Duration
    private var children: [String: Child] = [:]

    /// - Parameter silenceLimit: how long a child that answered once may then be silent.
    public init(silenceLimit: Duration) {
        self.silenceLimit = silenceLimit
    }

    /// Records one ping of `name`, running as `pid`, and whether it answered.
    /// - Parameters:
    ///   - name: the child.
    ///   - pid: its process now; another pid than before is a new process, not yet watched.
    ///   - answered: whether it answered this ping.
    ///   - now: when the ping's round ended.
    /// - Returns: `.watching` at a process's first answer; `.kill` the first time a watched
    ///   process has been silent for longer than the limit.
    public mutating func observe(_ name: String, pid: Int32, answered: Bool, at now: ContinuousClock.Instant) -> Action? {
        var child = children[name].flatMap { $0.pid == pid ? $0 : nil } ?? Child(pid: pid, phase: .starting)
        defer { children[name] = child }
        if answered {
            switch child.phase {
            case .killed: return nil
            case .answering: child.phase = .answering(lastHeard: now); return nil
            case .starting: child.phase = .answering(lastHeard: now); return .watching(name: name, pid: pid)
            }
        }
        guard case .answering(let lastHeard) = child.phase, now - lastHeard > silenceLimit else { return nil }
        child.phase = .killed
        return .kill(name: name, pid: pid, silentFor: now - lastHeard)
    }

    /// Forgets the children that are not running any more.
    public mutating func keep(only running: Set<String>) {
        children = children.filter { running.contains($0.key) }
    }

    /// Whether `name` has answered since its process started (and is therefore watched).
    public func isWatched(_ name: String) -> Bool {
        if case .answering = children[name]?.phase { return true }
        return false
    }
}
