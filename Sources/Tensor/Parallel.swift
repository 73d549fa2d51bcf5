import Dispatch
import Foundation

/// Splits element-wise work over the calling thread's compute context.
///
/// Runs on Dispatch's worker threads (not Swift's cooperative pool): callers are either the
/// command-line tool's main thread or a role's dedicated compute thread, so heavy loops never
/// starve the two cooperative threads that serve messages.
public enum Parallel {
    /// The calling thread's compute threads: `ComputeContext.current.threads`.
    public static var threads: Int { ComputeContext.current.threads }

    /// Whether the calling thread is running a chunk of a parallel loop (work there stays on it).
    public static var isInsideChunk: Bool { ParallelRegion.isInside }

    /// Calls `body(range)` on disjoint, contiguous chunks covering 0..<count. The chunking depends
    /// only on `count` and the context's thread count, so results are the same bits on every run.
    @inline(__always)
    public static func forChunks(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        forChunks(count, minChunk: minChunk) { (_: Int, r: Range<Int>) in body(r) }
    }

    /// As `forChunks`, also passing the chunk's index (below the context's `threads`), for
    /// per-thread scratch; `maxParts` caps the number of chunks.
    @inline(__always)
    public static func forChunks(_ count: Int, minChunk: Int = 1, maxParts: Int = .max, _ body: (Int, Range<Int>) -> Void) {
        // Inside a chunk the other threads are busy already: nesting would only add contention.
        if ParallelRegion.isInside {
            body(0, 0..<count)
            return
        }
        let parts = min(ComputeContext.current.threads, maxParts, max(1, count / max(1, minChunk)))
        if parts <= 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let task = ChunkBody(body: body)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let lo = count * p / parts
                let hi = count * (p + 1) / parts
                if lo < hi {
                    ParallelRegion.isInside = true
                    task.body(p, lo..<hi)
                    ParallelRegion.isInside = false
                }
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

/// Marks the threads that are running a chunk, so nested `forChunks` calls run inline.
enum ParallelRegion {
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    static var isInside: Bool {
        get { pthread_getspecific(key) != nil }
        set { pthread_setspecific(key, newValue ? UnsafeRawPointer(bitPattern: 1) : nil) }
    }
}
