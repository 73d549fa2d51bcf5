import Foundation

/// An external reward program: started once, it reads one JSON object per line on stdin,
/// `{"prompt": "...", "response": "...", "ended": true}`, and answers each with one line on
/// stdout, `{"score": 0.75}`, in order (Docs/roles.md). Its stderr is kept, the last lines of
/// it reported when it fails; a batch that is not answered within the timeout fails the request.
public final class RewardProgram {
    public struct Item: Sendable, Encodable {
        public var prompt: String
        public var response: String
        public var ended: Bool
    }

    let command: [String]
    let timeoutSeconds: Double
    fileprivate let process = Process()
    fileprivate let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    private var pending = Data()
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
        do {
            try process.run()
        } catch {
            throw RoleError(.rewardProgram, "reward: cannot start \(command.joined(separator: " ")): \(error)")
        }
    }

    deinit {
        stderr.fileHandleForReading.readabilityHandler = nil
        if process.isRunning { process.terminate() }
        try? stdin.fileHandleForWriting.close()
    }

    /// Scores the items, one answer line per item.
    public func score(_ items: [Item]) throws -> [Float] {
        guard process.isRunning else { throw failure("exited with status \(process.terminationStatus)") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for item in items {
            out.append(try encoder.encode(item))
            out.append(0x0A)
        }
        do {
            try stdin.fileHandleForWriting.write(contentsOf: out)
        } catch {
            throw failure("stopped reading its input (\(error))")
        }
        var scores: [Float] = []
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while scores.count < items.count {
            let line = try readLine(deadline: deadline, answered: scores.count, of: items.count)
            guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                  let score = (object["score"] as? NSNumber)?.doubleValue, score.isFinite else {
                throw failure("answered \(String(decoding: line.prefix(200), as: UTF8.self)) for item \(scores.count); expected {\"score\": NUMBER}")
            }
            scores.append(Float(score))
        }
        return scores
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
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 {
                process.waitUntilExit()
                throw failure("closed its output after \(answered) of \(total) items (exit status \(process.terminationStatus))")
            }
            pending.append(contentsOf: buffer[0..<n])
        }
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
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while poll(&pfd, 1, 100) > 0 {
            let n = read(fd, &buffer, buffer.count)
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
