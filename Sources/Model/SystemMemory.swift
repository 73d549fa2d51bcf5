import Foundation

/// How much memory this process can have: the machine's physical memory, or less when a cgroup
/// (a container, a CI job on a large host) or `ulimit -v` sets a smaller limit, since the process
/// is killed or its allocations fail at that limit, not at the machine's size.
public enum SystemMemory {
    /// The smallest of physical memory, the cgroup (v2 or v1) limit and the address-space limit, in bytes.
    public static var bytes: Int {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        var limits = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"].compactMap(cgroupLimit)
        var addressSpace = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
        #else
        let resource = RLIMIT_AS
        #endif
        // RLIM_INFINITY is ~0, which Swift does not import.
        if getrlimit(resource, &addressSpace) == 0, addressSpace.rlim_cur != rlim_t.max {
            limits.append(Int(clamping: addressSpace.rlim_cur))
        }
        return ([physical] + limits).min() ?? physical
    }

    /// The number in a cgroup limit file; nil when absent or "max" (no limit).
    private static func cgroupLimit(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { $0 > 0 ? $0 : nil }
    }

    /// The most resident memory this process has held so far (its high-water mark, what the
    /// kernel would have had to find at the worst moment), in bytes.
    public static var peakResidentBytes: Int {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        // Linux reports kilobytes.
        return Int(usage.ru_maxrss) * 1024
    }

    /// Memory the kernel could give without swapping now (`MemAvailable`), or `bytes` where
    /// /proc/meminfo is absent; never more than `bytes`.
    public static var availableBytes: Int {
        let limit = bytes
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return limit }
        return min(limit, kb * 1024)
    }

    /// `bytes` with a binary unit for people, e.g. `25012345678 bytes (23.3 GiB)`.
    public static func describe(_ bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = "bytes"
        for next in units where value >= 1024 {
            value /= 1024
            unit = next
        }
        return unit == "bytes" ? "\(bytes) bytes" : "\(bytes) bytes (\(String(format: "%.1f", value)) \(unit))"
    }
}
