import Dispatch
import Foundation

/// Splits element-wise work over the compute threads.
///
/// Runs on Dispatch's worker threads (not Swift's cooperative pool): callers are either the
/// command-line tool's main thread or a role's dedicated compute thread, so heavy loops never
/// starve the two cooperative threads that serve messages.
public enum Parallel {
    /// Threads used by our own kernels: RLHF_THREADS, else OPENBLAS_NUM_THREADS, else the cores.
    public static let threads: Int = {
        let env = ProcessInfo.processInfo.environment
        for key in ["RLHF_THREADS", "OPENBLAS_NUM_THREADS"] {
            if let v = env[key], let n = Int(v), n > 0 { return n }
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body(range)` on disjoint, contiguous chunks covering 0..<count. The chunking depends
    /// only on `count` and `threads`, so results are the same bits on every run.
    @inline(__always)
    public static func forChunks(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        forChunks(count, minChunk: minChunk) { (_: Int, r: Range<Int>) in body(r) }
    }

    /// As `forChunks`, also passing the chunk's index (below `threads`), for per-thread scratch.
    @inline(__always)
    public static func forChunks(_ count: Int, minChunk: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / max(1, minChunk)))
        if parts <= 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let task = ChunkBody(body: body)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let lo = count * p / parts
                let hi = count * (p + 1) / parts
                if lo < hi { task.body(p, lo..<hi) }
            }
        }
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`.
// @unchecked Sendable is safe here: concurrentPerform returns only after every iteration has
// finished, so the closure never outlives the call, and callers give each iteration a disjoint
// range of the buffers they write.
private struct ChunkBody: @unchecked Sendable {
    let body: (Int, Range<Int>) -> Void
}
