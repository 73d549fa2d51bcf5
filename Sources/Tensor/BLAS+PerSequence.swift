extension BLAS {
    /// Runs `body(part, b)` for b in 0..<count: sequences spread over the context's threads, each
    /// thread's sgemm on that thread alone (products of 256 x 256 x 32 are too small to split).
    /// `part` names the thread's chunk, below `maxParts`, for per-thread scratch.
    ///
    /// Our own threads split the work wherever products are too small for one sgemm to split
    /// well (attention per sequence, decoding steps, generation groups).
    public static func perSequence(_ count: Int, maxParts: Int = .max, _ body: (Int, Int) -> Void) {
        Parallel.forChunks(count, maxParts: maxParts) { (part: Int, r: Range<Int>) in
            for b in r { body(part, b) }
        }
    }

    public static func perSequence(_ count: Int, _ body: (Int) -> Void) {
        perSequence(count) { (_: Int, b: Int) in body(b) }
    }
}
