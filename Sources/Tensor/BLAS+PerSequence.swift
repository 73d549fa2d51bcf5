import CBLAS
import Foundation

extension BLAS {
    /// Whether attention runs one sequence per thread (each thread's sgemm single-threaded)
    /// rather than one sequence at a time with OpenBLAS threading each small product.
    /// RLHF_ATTENTION_SPLIT=blas selects the latter.
    public static let splitsSequences: Bool = ProcessInfo.processInfo.environment["RLHF_ATTENTION_SPLIT"] != "blas"

    /// Runs `body(part, b)` for b in 0..<count: sequences spread over the compute threads, with
    /// OpenBLAS limited to one thread meanwhile (its pool would otherwise fight ours over two
    /// cores for products of 256 x 256 x 32, too small to split). `part` names the thread's
    /// chunk, for per-thread scratch.
    public static func perSequence(_ count: Int, _ body: (Int, Int) -> Void) {
        if !splitsSequences || Parallel.threads == 1 || count == 1 {
            for b in 0..<count { body(0, b) }
            return
        }
        let saved = threads
        setThreads(1)
        Parallel.forChunks(count) { (part: Int, r: Range<Int>) in
            for b in r { body(part, b) }
        }
        setThreads(saved)
    }

    public static func perSequence(_ count: Int, _ body: (Int) -> Void) {
        perSequence(count) { (_: Int, b: Int) in body(b) }
    }
}
