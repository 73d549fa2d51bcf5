import CProcessSpawn
import Dispatch
import Foundation
import Synchronization

/// Starts role processes, streams their output, notices when one ends, and stops them all.
///
/// Every child runs in its own process group with `PR_SET_PDEATHSIG` = SIGKILL, set between
/// fork and exec by `CProcessSpawn` (Docs/topology.md says why not Foundation.Process or
/// swift-subprocess). The death signal fires when the *thread* that forked the child ends, so
/// each child is forked by a dedicated thread that lives exactly as long as the child: it pumps
/// the child's output and reaps it. If the supervisor process dies (even by SIGKILL), every
/// thread dies and the kernel kills every child.
///
/// Use: `start` each child, then `run()` (or read `events` and call `stop()` yourself).
public final class ProcessSupervisor: Sendable {
    /// Where prefixed lines go besides the log files.
    public enum Terminal: Sendable {
        case standardError
        case standardOutput
        /// Only log files (and the tails in `ChildExit`).
        case silent
        /// Each prefixed line to a handler (called from the child's thread).
        case lines(@Sendable (String) -> Void)
    }

    struct Child {
        var spec: ChildSpec
        var pid: Int32
        var stopRequested = false
        /// Why the supervisor killed it, when it did so on its own (`killSilent`).
        var cause: String?
    }

    struct State {
        var running: [Int32: Child] = [:]
        var exits: [ChildExit] = []
        var stopping = false
        var signalSources: [SignalSources] = []
        var prefixWidth = 0
        /// Every child started, by name (what a restart starts again).
        var specs: [String: ChildSpec] = [:]
    }

    let state = Mutex(State())
    /// Serialises whole lines on the terminal (and the handler).
    let terminalLock = Mutex(())
    let terminal: Terminal
    let tailLines: Int
    let eventSink: AsyncStream<SupervisorEvent>.Continuation
    /// Every child's end and every signal, in order; one consumer (`run()` reads it).
    public let events: AsyncStream<SupervisorEvent>

    /// - Parameters:
    ///   - terminal: where prefixed output lines go.
    ///   - tailLines: how many last lines of each child a `ChildExit` carries.
    public init(terminal: Terminal = .standardError, tailLines: Int = 20) {
        self.terminal = terminal
        self.tailLines = max(0, tailLines)
        (events, eventSink) = AsyncStream.makeStream(of: SupervisorEvent.self)
    }

    deinit { eventSink.finish() }

    /// Children still running: name -> pid.
    public var runningChildren: [String: Int32] {
        state.withLock { Dictionary($0.running.values.map { ($0.spec.name, $0.pid) }, uniquingKeysWith: { a, _ in a }) }
    }

    /// Every child that ended so far, in order.
    public var exits: [ChildExit] { state.withLock { $0.exits } }

    // MARK: - Start

    /// Starts one child and returns its pid once it has exec'd (or failed to).
    /// Blocks the caller for the fork and exec only (about a millisecond).
    /// - Parameter spec: the child.
    /// - Throws: `SupervisorError` when the program is not found, the log file cannot be opened,
    ///   the cores cannot be set, or exec fails; nothing is left running then.
    @discardableResult
    public func start(_ spec: ChildSpec) throws -> Int32 {
        guard !spec.argv.isEmpty else { throw SupervisorError(name: spec.name, message: "empty argv") }
        if let bad = spec.cores?.first(where: { !(0..<1024).contains($0) }) {
            throw SupervisorError(name: spec.name, message: "CPU \(bad) is outside 0..<1024")
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(spec.environment) { _, new in new }
        guard let path = Self.executablePath(spec.argv[0], searchPath: environment["PATH"]) else {
            throw SupervisorError(name: spec.name, message: "program \"\(spec.argv[0])\" not found (PATH: \(environment["PATH"] ?? ""))")
        }
        let log = try spec.logFile.map { try Self.openLog($0, name: spec.name) }
        guard state.withLock({ !$0.stopping }) else { throw SupervisorError(name: spec.name, message: "the supervisor is stopping") }
        state.withLock { $0.prefixWidth = max($0.prefixWidth, spec.name.count) }

        let launch = LaunchHandoff()
        let request = SpawnRequest(path: path, argv: spec.argv, environment: environment.map { "\($0.key)=\($0.value)" }.sorted(),
                                   cores: spec.cores ?? [], workingDirectory: spec.workingDirectory)
        let thread = Thread { [self] in
            runChild(spec: spec, request: request, log: log, launch: launch)
        }
        thread.name = "supervisor: \(spec.name)"
        thread.start()
        switch launch.wait() {
        case .success(let pid):
            return pid
        case .failure(let message):
            throw SupervisorError(name: spec.name, message: message)
        }
    }

    static func executablePath(_ program: String, searchPath: String?) -> String? {
        if program.contains("/") { return program }
        for directory in (searchPath ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private static func openLog(_ path: String, name: String) throws -> FileHandle {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            return handle
        } catch {
            throw SupervisorError(name: name, message: "cannot open log file \(path): \(error.localizedDescription)")
        }
    }

    // MARK: - Stop

    /// Stops every running child: SIGTERM to each one's process group, up to `gracePeriod` for
    /// them to exit, then SIGKILL to whatever is left; returns when all are reaped.
    /// Children started afterwards are refused.
    /// - Parameter gracePeriod: how long SIGTERM has before SIGKILL.
    /// - Returns: every child's end since the supervisor started, in order.
    @discardableResult
    public func stop(gracePeriod: Duration = .seconds(10)) async -> [ChildExit] {
        signalAll(SIGTERM, markStopping: true)
        let clock = ContinuousClock()
        let deadline = clock.now + gracePeriod
        while clock.now < deadline, !state.withLock({ $0.running.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        signalAll(SIGKILL, markStopping: true)
        // SIGKILL cannot be caught; a child in uninterruptible sleep may take a moment.
        let killDeadline = clock.now + .seconds(10)
        while clock.now < killDeadline, !state.withLock({ $0.running.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exits
    }

    /// Sends `signal` to every running child's process group.
    func signalAll(_ signal: Int32, markStopping: Bool) {
        let pids = state.withLock { s -> [Int32] in
            if markStopping { s.stopping = true }
            for pid in s.running.keys { s.running[pid]?.stopRequested = true }
            return Array(s.running.keys)
        }
        for pid in pids {
            if kill(-pid, signal) != 0 { kill(pid, signal) }
        }
    }

    // MARK: - Run

    /// Makes SIGINT and SIGTERM to this process `SupervisorEvent.signal` events instead of
    /// killing it (a second one while stopping SIGKILLs every child at once), and ignores SIGPIPE
    /// so that a closed terminal does not kill the supervisor. Process-wide; call once.
    public func handleSignals() {
        signal(SIGPIPE, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if state.withLock({ $0.stopping }) {
                    signalAll(SIGKILL, markStopping: true)
                } else {
                    eventSink.yield(.signal(signalNumber))
                }
            }
            source.resume()
            sources.append(source)
        }
        let holder = SignalSources(sources)
        state.withLock { $0.signalSources.append(holder) }
    }

    /// Waits for the first child to end or a signal (see `handleSignals()`), then stops every
    /// child. A `finishesRun` child exiting with 0 completes the run; anything else fails it,
    /// except the death of a child with restarts left, which is started again.
    /// - Parameters:
    ///   - gracePeriod: how long SIGTERM has before SIGKILL.
    ///   - handleSignals: install the SIGINT/SIGTERM handling first.
    ///   - liveness: children to ping while the run lasts; one silent for too long is killed and
    ///     then ends as any dead child (nil: none pinged).
    /// - Returns: why the run ended and every child's end; `exitCode` is what to exit with.
    public func run(gracePeriod: Duration = .seconds(10), handleSignals: Bool = true, liveness: LivenessCheck? = nil) async -> SupervisionOutcome {
        if handleSignals { self.handleSignals() }
        // The watch is a child task of this call: cancelled, and awaited, before anything stops.
        let reason = await withTaskGroup(of: Void.self) { group in
            if let liveness { group.addTask { await self.watchLiveness(liveness) } }
            let reason = await firstEnd()
            group.cancelAll()
            return reason
        }
        let all = await stop(gracePeriod: gracePeriod)
        return SupervisionOutcome(reason: reason ?? .signal(SIGTERM), exits: all)
    }

    /// The first event that ends the run; a child with restarts left is started again instead.
    private func firstEnd() async -> SupervisionOutcome.Reason? {
        if let already = exits.first(where: { !$0.stoppedBySupervisor }) {
            return .childFailed(already)  // ended before run() was called
        }
        var restarted: [String: Int] = [:]
        for await event in events {
            switch event {
            case .exited(let exit):
                if !(exit.finishesRun && exit.status.succeeded), let spec = state.withLock({ $0.specs[exit.name] }),
                   restarted[spec.name, default: 0] < spec.restarts,
                   !state.withLock({ $0.stopping }) {
                    restarted[spec.name, default: 0] += 1
                    emit(spec.name, "ended (\(exit.how)); starting it again (restart \(restarted[spec.name]!) of \(spec.restarts))")
                    if (try? start(spec)) != nil { continue }
                }
                return exit.finishesRun && exit.status.succeeded ? .completed(exit) : .childFailed(exit)
            case .signal(let s):
                return .signal(s)
            }
        }
        return nil
    }

    // MARK: - Output

    func emit(_ name: String, _ line: String) {
        let width = state.withLock { $0.prefixWidth }
        let text = name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0) + " | " + line
        terminalLock.withLock { _ in
            switch terminal {
            case .standardError: writeAll(STDERR_FILENO, text + "\n")
            case .standardOutput: writeAll(STDOUT_FILENO, text + "\n")
            case .silent: break
            case .lines(let handler): handler(text)
            }
        }
    }
}

/// Keeps the signal sources alive as long as the supervisor.
// @unchecked Sendable: the array is set once in init and never read or changed afterwards; it
// exists only to hold references (Dispatch sources are thread-safe objects anyway).
final class SignalSources: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    init(_ sources: [DispatchSourceSignal]) { self.sources = sources }
}

/// Writes all of `text`, retrying short writes and EINTR; gives up silently on a closed terminal.
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return
        }
        bytes = bytes.dropFirst(n)
    }
}
