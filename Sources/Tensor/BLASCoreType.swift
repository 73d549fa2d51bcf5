import Foundation

/// Chooses OpenBLAS's kernel family from the CPU's features.
///
/// OpenBLAS 0.3.21 (Debian 12) does not know recent CPUs and falls back to its generic Prescott
/// kernels, about a third of the speed. OPENBLAS_CORETYPE picks the kernel, but it is read only
/// when the library loads, so a process must have it in its environment from the start: the
/// `rlhf` tool re-executes itself with it set (see `rlhf/Main.swift`), and the launcher sets it
/// for every role process.
public enum BLASCoreType {
    /// The environment variable OpenBLAS reads.
    public static let variable = "OPENBLAS_CORETYPE"

    /// The kernel to use for a CPU with these `/proc/cpuinfo` flags, or nil to let OpenBLAS choose.
    public static func recommended(cpuFlags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The flags of the first CPU in /proc/cpuinfo (empty where there is no such file).
    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }
}
