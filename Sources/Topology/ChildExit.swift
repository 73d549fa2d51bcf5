import Foundation

/// How a supervised child ended, with the tail of its output for the report.
public struct ChildExit: Sendable, Equatable, CustomStringConvertible {
    /// Exit status or the signal that ended it.
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        /// `exit(code)`.
        case exited(Int32)
        /// Killed by this signal.
        case signalled(Int32)

        /// Exited with status 0.
        public var succeeded: Bool { self == .exited(0) }

        public var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signalled(let signal): "was killed by \(signalName(signal))"
            }
        }
    }

    /// The child's `ChildSpec.name`.
    public var name: String
    public var pid: Int32
    public var status: Status
    /// Its last lines of output (at most the supervisor's `tailLines`).
    public var lastLines: [String]
    /// Its log file, if it had one.
    public var logFile: String?
    /// Whether it ended because the supervisor stopped it (rather than by itself).
    public var stoppedBySupervisor: Bool
    /// Its `ChildSpec.finishesRun`.
    public var finishesRun: Bool
    /// Why the supervisor killed it on its own, when it did (`answered no ping for 10 s, over
    /// transport.silence_limit_seconds = 10`); nil when it ended by itself or was stopped.
    public var cause: String?

    /// How it ended: `exited with status 1`, or with the supervisor's reason first
    /// (`answered no ping for 10 s, over transport.silence_limit_seconds = 10, and was killed by SIGKILL`).
    public var how: String { cause.map { "\($0), and \(status)" } ?? status.description }

    /// `actor (pid 812) exited with status 1; log runs/demo/logs/actor.log; last lines:` and the lines.
    public var description: String {
        var s = "\(name) (pid \(pid)) \(how)"
        if let logFile { s += "; log \(logFile)" }
        if !lastLines.isEmpty { s += "; last lines:\n" + lastLines.map { "    " + $0 }.joined(separator: "\n") }
        return s
    }
}

/// `SIGTERM` for 15, etc.; `signal N` for the uncommon ones.
func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
                                  SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV",
                                  SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2"]
    return names[signal] ?? "signal \(signal)"
}
