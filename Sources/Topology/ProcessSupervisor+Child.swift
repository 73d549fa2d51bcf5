import CProcessSpawn
import Dispatch
import Foundation
import Synchronization

/// The argv, environment and cores of one child as C strings, built before fork so that the
/// child only makes system calls.
struct SpawnRequest: Sendable {
    var path: String
    var argv: [String]
    var environment: [String]
    var cores: [Int]
    var workingDirectory: String?

    /// Forks and execs with stdout and stderr on `outputFD`; returns the pid or what failed.
    func spawn(outputFD: Int32) -> Result<Int32, SpawnFailure> {
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        let cCores = cores.map(Int32.init)
        var pid: pid_t = 0
        var step: Int32 = 0
        let error: Int32 = path.withCString { cPath in
            workingDirectory.withOptionalCString { cDirectory in
                cCores.withUnsafeBufferPointer { coreBuffer in
                    cArgv.withUnsafeBufferPointer { argvBuffer in
                        cEnv.withUnsafeBufferPointer { envBuffer in
                            var request = rlhf_spawn_request(
                                path: cPath, argv: argvBuffer.baseAddress!, envp: envBuffer.baseAddress!,
                                cores: coreBuffer.baseAddress, core_count: Int32(coreBuffer.count), output_fd: outputFD,
                                working_directory: cDirectory, death_signal: SIGKILL)
                            return rlhf_spawn(&request, &pid, &step)
                        }
                    }
                }
            }
        }
        if error != 0 { return .failure(SpawnFailure(step: step, errno: error)) }
        return .success(pid)
    }
}

/// Which step of starting a child failed, and its errno.
struct SpawnFailure: Error {
    var step: Int32
    var errno: Int32

    var message: String {
        let what = switch step {
        case Int32(RLHF_SPAWN_STEP_FORK): "fork"
        case Int32(RLHF_SPAWN_STEP_PROCESS_GROUP): "setpgid"
        case Int32(RLHF_SPAWN_STEP_DEATH_SIGNAL): "prctl(PR_SET_PDEATHSIG)"
        case Int32(RLHF_SPAWN_STEP_PARENT_GONE): "the supervisor exited while starting it"
        case Int32(RLHF_SPAWN_STEP_AFFINITY): "sched_setaffinity (cores)"
        case Int32(RLHF_SPAWN_STEP_STDIO): "redirecting stdin/stdout/stderr"
        case Int32(RLHF_SPAWN_STEP_CHDIR): "changing to the working directory"
        default: "exec"
        }
        return "\(what) failed: \(String(cString: strerror(errno)))"
    }
}

extension Optional where Wrapped == String {
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let s): s.withCString { body($0) }
        case .none: body(nil)
        }
    }
}

/// Hands the child thread's spawn result to the thread that called `start`.
final class LaunchHandoff: Sendable {
    enum Outcome: Sendable { case success(Int32), failure(String) }
    private let semaphore = DispatchSemaphore(value: 0)
    private let outcome = Mutex<Outcome?>(nil)

    func deliver(_ value: Outcome) {
        outcome.withLock { $0 = value }
        semaphore.signal()
    }

    func wait() -> Outcome {
        semaphore.wait()
        return outcome.withLock { $0! }
    }
}

extension ProcessSupervisor {
    /// The body of a child's own thread: fork it (so its death signal is tied to this thread),
    /// pump its output line by line until it has exited and the pipe is drained, reap it, and
    /// report its end. The thread, and with it the parent-death link, lasts as long as the child.
    func runChild(spec: ChildSpec, request: SpawnRequest, log: FileHandle?, launch: LaunchHandoff) {
        var fds: [Int32] = [-1, -1]
        let pipeError = rlhf_pipe_cloexec(&fds)
        guard pipeError == 0 else {
            launch.deliver(.failure("pipe: \(String(cString: strerror(pipeError)))"))
            return
        }
        let (readFD, writeFD) = (fds[0], fds[1])
        // No new child once stop() has begun (a stop between here and the fork is caught below).
        let refused = state.withLock { $0.stopping }
        if refused {
            close(readFD); close(writeFD)
            launch.deliver(.failure("the supervisor is stopping"))
            return
        }
        let spawned = request.spawn(outputFD: writeFD)
        close(writeFD)
        let pid: Int32
        switch spawned {
        case .failure(let failure):
            close(readFD)
            try? log?.close()
            launch.deliver(.failure(failure.message))
            return
        case .success(let p):
            pid = p
        }
        let stopNow = state.withLock { s -> Bool in
            s.running[pid] = Child(spec: spec, pid: pid, stopRequested: s.stopping)
            s.specs[spec.name] = spec
            return s.stopping
        }
        if stopNow { kill(-pid, SIGKILL) }  // stop() ran between our check and the fork
        launch.deliver(.success(pid))

        var lines = LineSplitter()
        var tail: [String] = []
        func deliverLine(_ line: String) {
            emit(spec.name, line)
            log?.write(Data((line + "\n").utf8))
            if tailLines > 0 {
                tail.append(line)
                if tail.count > tailLines { tail.removeFirst(tail.count - tailLines) }
            }
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var status: Int32 = 0
        var reaped = false
        var open = true
        // poll with a timeout rather than reading to EOF: a grandchild holding the pipe open
        // must not hide the child's exit.
        while !reaped || open {
            if open {
                var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, reaped ? 0 : 100)
                if ready > 0 {
                    let n = read(readFD, &buffer, buffer.count)
                    if n > 0 {
                        lines.append(buffer[0..<n]).forEach(deliverLine)
                        continue
                    } else if n == 0 || errno != EINTR {
                        open = false
                    }
                } else if reaped {
                    open = false  // exited and nothing more to read now: the rest belongs to grandchildren
                }
            }
            if !reaped {
                let r = waitpid(pid, &status, open ? WNOHANG : 0)
                if r == pid || (r < 0 && errno == ECHILD) { reaped = true }
            }
        }
        if let last = lines.finish() { deliverLine(last) }
        close(readFD)
        try? log?.close()
        // Anything the child left in its process group goes with it.
        kill(-pid, SIGKILL)

        let exitStatus: ChildExit.Status = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
        let exit = state.withLock { s -> ChildExit in
            let stopped = s.running[pid]?.stopRequested ?? false
            let cause = s.running[pid]?.cause
            s.running[pid] = nil
            let exit = ChildExit(name: spec.name, pid: pid, status: exitStatus, lastLines: tail, logFile: spec.logFile,
                                 stoppedBySupervisor: stopped, finishesRun: spec.finishesRun, cause: cause)
            s.exits.append(exit)
            return exit
        }
        eventSink.yield(.exited(exit))
    }
}

/// Cuts a byte stream into lines (`\n`, with a trailing `\r` dropped); invalid UTF-8 is repaired.
struct LineSplitter {
    private var pending: [UInt8] = []

    /// The complete lines `bytes` finishes.
    mutating func append(_ bytes: ArraySlice<UInt8>) -> [String] {
        var out: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                out.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
            }
        }
        return out
    }

    /// A last line without a newline, if any.
    mutating func finish() -> String? {
        defer { pending = [] }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}
