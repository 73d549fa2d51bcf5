import Foundation

/// What /proc says about processes, for the no-orphan checks.
enum ProcessTable {
    /// Whether `pid` is alive: it exists and is not a zombie (a zombie has exited; only its
    /// parent's reaping is pending, which for an orphan is init's business).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.first != "Z" && fields.first != "X"
    }

    /// Live processes whose process group is `pgid`.
    static func members(ofGroup pgid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields: state ppid pgrp ...
            return fields.count > 2 && Int32(fields[2]) == pgid && fields[0] != "Z"
        }
    }

    /// Waits up to `timeout` for every pid to be gone; returns those still alive.
    static func waitUntilGone(_ pids: [Int32], timeout: TimeInterval = 5) -> [Int32] {
        let deadline = Date().addingTimeInterval(timeout)
        var alive = pids.filter(isAlive)
        while !alive.isEmpty, Date() < deadline {
            usleep(20_000)
            alive = alive.filter(isAlive)
        }
        return alive
    }
}
