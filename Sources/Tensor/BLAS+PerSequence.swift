import CBLAS

extension BLAS {
    /// Runs `body` with OpenBLAS limited to `count` threads, then restores the previous count.
    ///
    /// Our own threads split the work wherever products are too small for OpenBLAS to split
    /// well (attention per sequence, decoding steps, generation groups); its pool would
    /// otherwise wake, spin in `sched_yield`, and fight them over two cores.
    public static func withThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        let saved = threads
        if saved == count { return try body() }
        setThreads(count)
        defer { setThreads(saved) }
        return try body()
    }

    /// Runs `body(part, b)` for b in 0..<count: sequences spread over the compute threads, each
    /// thread's sgemm single-threaded (products of 256 x 256 x 32 are too small to split).
    /// `part` names the thread's chunk, for per-thread scratch.
    public static func perSequence(_ count: Int, _ body: (Int, Int) -> Void) {
        if Parallel.threads == 1 || count == 1 {
            for b in 0..<count { body(0, b) }
            return
        }
        withThreads(1) {
            Parallel.forChunks(count) { (part: Int, r: Range<Int>) in
                for b in r { body(part, b) }
            }
        }
    }

    public static func perSequence(_ count: Int, _ body: (Int) -> Void) {
        perSequence(count) { (_: Int, b: Int) in body(b) }
    }
}
