import Foundation

/// An external reward program: started once, it reads one JSON object per line on stdin,
/// `{"prompt": "...", "response": "...", "ended": true}`, and answers each with one line on
/// stdout, `{"score": 0.75}`, in order (Docs/roles.md). Its stderr is kept, the last lines of
/// it reported when it fails; a batch that is not answered within the timeout fails the request.
public final class RewardProgram {
    /// One request line: the user's prompt, the decoded response, whether a stop token ended it.
    public struct Item: Sendable, Encodable {
        public var prompt: String
        public var response: String
        public var ended: Bool

        public init(prompt: String, response: String, ended: Bool) {
            self.prompt = prompt
            self.response = response
            self.ended = ended
        }
    }

    let command: [String]
    let timeoutSeconds: Double
    fileprivate let process = Process()
    fileprivate let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    /// Bytes of stdout read but not yet taken as answer lines.
    private var pending = Data()
    /// Why the program failed, once it has: it is stopped, and later calls are refused.
    private var failed: String?
    fileprivate let stderrTail = StderrTail()

    /// Starts the program.
    /// - Throws: `RoleError(.rewardProgram)` when it cannot be started.
    public init(command: [String], timeoutSeconds: Double) throws {
        guard let first = command.first else { throw RoleError(.rewardProgram, "reward: the program's command is empty") }
        self.command = command
        self.timeoutSeconds = timeoutSeconds
        process.executableURL = URL(fileURLWithPath: first.contains("/") ? first : "/usr/bin/env")
        process.arguments = first.contains("/") ? Array(command.dropFirst()) : command
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let tail = stderrTail
        stderr.fileHandleForReading.readabilityHandler = { handle in tail.append(handle.availableData) }
        // A program that stops reading (closes its stdin, or dies between two batches) would
        // make the next write raise SIGPIPE, whose default action kills this whole role process
        // without a word. Ignored, the write fails with EPIPE and `score` names the program.
        signal(SIGPIPE, SIG_IGN)
        do {
            try process.run()
        } catch {
            throw RoleError(.rewardProgram, "reward: cannot start \(command.joined(separator: " ")): \(error)")
        }
        // Writes never block: `send` waits for room with poll, against the deadline.
        let input = stdin.fileHandleForWriting.fileDescriptor
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        stderr.fileHandleForReading.readabilityHandler = nil
        if process.isRunning { process.terminate() }
        try? stdin.fileHandleForWriting.close()
    }

    /// Scores the items, one answer line per item, within the timeout (writing the batch
    /// included: a program that stops reading cannot hold the role either).
    /// - Throws: `RoleError(.rewardProgram)` naming the program, what it did, and the end of its
    ///   stderr; after a failure the program is stopped and every later call refused, since
    ///   its answers could no longer be told apart from those of the batch that failed.
    public func score(_ items: [Item]) throws -> [Float] {
        if let earlier = failed { throw RoleError(.rewardProgram, "reward program \(command.joined(separator: " ")) was stopped after an earlier failure: \(earlier)") }
        do {
            return try exchange(items)
        } catch let error as RoleError {
            failed = error.message
            if process.isRunning { process.terminate() }
            throw error
        }
    }

    private func exchange(_ items: [Item]) throws -> [Float] {
        guard process.isRunning else { throw failure(ending()) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for item in items {
            out.append(try encoder.encode(item))
            out.append(0x0A)
        }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        try send(out, deadline: deadline, items: items.count)
        var scores: [Float] = []
        while scores.count < items.count {
            let line = try readLine(deadline: deadline, answered: scores.count, of: items.count)
            guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                  let score = (object["score"] as? NSNumber)?.doubleValue, score.isFinite else {
                throw failure("answered \(quoted(line.prefix(200))) for item \(scores.count) of \(items.count); expected {\"score\": NUMBER}")
            }
            scores.append(Float(score))
        }
        return scores
    }

    /// Writes the batch to the program's stdin (non-blocking, so the deadline holds when the
    /// program does not read), reading its answers meanwhile: a program that answers as it
    /// reads would otherwise fill its stdout pipe while this side still writes, and both wait.
    private func send(_ bytes: Data, deadline: Date, items: Int) throws {
        let fd = stdin.fileHandleForWriting.fileDescriptor
        var offset = 0
        while offset < bytes.count {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                throw failure("took \(offset) of the batch's \(bytes.count) bytes (\(items) items) within its timeout of \(timeoutSeconds) s")
            }
            var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: stdout.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, Int32(min(remaining * 1000, 1000)))
            if ready < 0 && errno != EINTR { throw failure("poll failed (errno \(errno))") }
            if fds[1].revents & Int16(POLLIN) != 0 { _ = readAvailable() }
            guard fds[0].revents != 0 else { continue }
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw failure("stopped reading its input (\(reason))" + (process.isRunning ? "" : " and \(ending())"))
            }
            offset += n
        }
    }

    /// Appends what the program's stdout holds now to `pending`; the byte count, 0 at its end.
    private func readAvailable() -> Int {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = read(stdout.fileHandleForReading.fileDescriptor, &buffer, buffer.count)
        if n > 0 { pending.append(contentsOf: buffer[0..<n]) }
        return n
    }

    private func readLine(deadline: Date, answered: Int, of total: Int) throws -> Data {
        let fd = stdout.fileHandleForReading.fileDescriptor
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                return Data(line)
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                throw failure("answered \(answered) of \(total) items within its timeout of \(timeoutSeconds) s")
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(remaining * 1000, 1000)))
            if ready < 0 && errno != EINTR { throw failure("poll failed (errno \(errno))") }
            guard ready > 0 else { continue }
            if readAvailable() <= 0 {
                // It may have closed its stdout and gone on running: wait for its end only until
                // the deadline, so a program that lingers cannot hold the role past its timeout.
                while process.isRunning && deadline.timeIntervalSinceNow > 0 { usleep(10_000) }
                let end = process.isRunning ? "still running" : ending()
                throw failure("closed its output after \(answered) of \(total) items (\(end))")
            }
        }
    }

    /// How the program ended: `exited with status 3`, `was killed by signal 9`.
    private func ending() -> String {
        process.waitUntilExit()  // called once it is not running: the status is being collected
        return process.terminationReason == .uncaughtSignal
            ? "was killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
    }

    /// A line the program wrote, quoted as JSON quotes a string, so that an empty line or one
    /// with spaces at its ends shows as what it was.
    private func quoted(_ line: Data) -> String {
        let text = String(decoding: line, as: UTF8.self)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        guard let data = try? encoder.encode(text) else { return text }
        return String(decoding: data, as: UTF8.self)
    }

    private func failure(_ what: String) -> RoleError {
        drainStderr()
        let tail = stderrTail.lastLines(10)
        return RoleError(.rewardProgram, "reward program \(command.joined(separator: " ")) \(what)"
                         + (tail.isEmpty ? "" : "; its stderr ends with:\n" + tail))
    }
}

extension RewardProgram {
    /// Reads what the program's stderr still holds (its handler may not have run yet when the
    /// program has just died), so the failure shows the program's last words.
    fileprivate func drainStderr() {
        let handle = stderr.fileHandleForReading
        handle.readabilityHandler = nil
        let fd = handle.fileDescriptor
        // Read only the bytes the pipe holds (FIONREAD): the handler just removed may have taken
        // what poll saw, and a blocking read would then wait forever for a program alive but
        // silent. (Not O_NONBLOCK: the descriptor is Foundation's too, and its reader traps on
        // EAGAIN.) At end of file poll says readable with nothing held: that ends the loop too.
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while poll(&pfd, 1, 100) > 0 {
            var held: Int32 = 0
            guard ioctl(fd, UInt(FIONREAD), &held) == 0, held > 0 else { break }
            let n = read(fd, &buffer, min(Int(held), buffer.count))
            if n <= 0 { break }
            stderrTail.append(Data(buffer[0..<n]))
        }
        let tail = stderrTail
        if process.isRunning { handle.readabilityHandler = { h in tail.append(h.availableData) } }
    }
}

/// The last few kilobytes a program wrote to stderr.
private final class StderrTail: @unchecked Sendable {
    // @unchecked Sendable: `data` is only touched with `lock` held.
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        if data.count > 16384 { data.removeFirst(data.count - 16384) }
        lock.unlock()
    }

    func lastLines(_ n: Int) -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(n).joined(separator: "\n")
    }
}
