/// Why a supervised run ended, and how every child ended.
public struct SupervisionOutcome: Sendable, CustomStringConvertible {
    /// What ended the run.
    public enum Reason: Sendable, Equatable {
        /// A `finishesRun` child exited with status 0.
        case completed(ChildExit)
        /// A child exited (any status) or was killed before the run finished.
        case childFailed(ChildExit)
        /// The supervisor received this signal (SIGINT from Ctrl-C, SIGTERM).
        case signal(Int32)
    }

    public var reason: Reason
    /// Every child's end, in the order they ended.
    public var exits: [ChildExit]

    /// What the launching process should exit with: 0 when completed, 1 when a child failed,
    /// 128 + the signal when one arrived (the shell's convention).
    public var exitCode: Int32 {
        switch reason {
        case .completed: 0
        case .childFailed: 1
        case .signal(let s): 128 + s
        }
    }

    public var description: String {
        switch reason {
        case .completed(let exit): "run finished: \(exit.name) exited with status 0"
        case .childFailed(let exit): "stopping every process: \(exit)"
        case .signal(let s): "stopping every process: received \(signalName(s))"
        }
    }
}

/// What the supervisor reports as it happens.
public enum SupervisorEvent: Sendable {
    /// A child ended (by itself or stopped).
    case exited(ChildExit)
    /// The supervisor received SIGINT or SIGTERM (after `handleSignals()`).
    case signal(Int32)
}

/// A child could not be started.
public struct SupervisorError: Error, Sendable, CustomStringConvertible {
    /// The child's name.
    public var name: String
    /// What failed.
    public var message: String

    public var description: String { "cannot start \(name): \(message)" }
}
