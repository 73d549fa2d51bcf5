import CBLAS
import CKernels
import Foundation

/// The compute resources of one role: how many threads its kernels split work over, and the
/// cores its compute thread is pinned to.
///
/// Every kernel reads the context of the thread that calls it (`current`); `run(_:)` installs a
/// context on the calling thread for the length of a call, and the model's passes, the generator
/// and the optimizer take one as a `context:` argument and run under it. Nothing process-wide
/// changes per call, so two roles computing at once in one process, each on its own thread with
/// its own context, do not change each other's thread counts, and each gets the same bits as it
/// would alone (chunking depends only on sizes and the context's thread count).
///
/// OpenBLAS's own thread count is process-wide, so it is set once, to 1, the first time any
/// context is made (before any kernel runs), and never switched: `BLAS.sgemm` splits a large
/// product over the context's threads itself, by rows or columns of the output.
///
/// Helper threads come from Dispatch's shared pool (never Swift's cooperative pool) and are not
/// pinned; `pinCurrentThread()` pins the thread that calls it -- a role's own compute thread,
/// which runs the serial parts and the first chunk of every parallel loop.
public final class ComputeContext: Sendable, CustomStringConvertible {
    /// Threads the kernels split work over (at least 1).
    public let threads: Int
    /// The CPU cores the role's compute thread is pinned to by `pinCurrentThread()`, or nil.
    public let cores: [Int]?

    /// - Parameters:
    ///   - threads: threads the kernels split work over; values below 1 mean 1.
    ///   - cores: cores for `pinCurrentThread()`, or nil to leave placement to the system.
    public init(threads: Int, cores: [Int]? = nil) {
        _ = ComputeContext.processBLASConfigured
        self.threads = max(1, threads)
        self.cores = cores
    }

    /// The context of a thread that installed none: RLHF_THREADS, else OPENBLAS_NUM_THREADS,
    /// else the number of cores. The command-line tool's single role uses it.
    public static let processDefault: ComputeContext = {
        let env = ProcessInfo.processInfo.environment
        for key in ["RLHF_THREADS", "OPENBLAS_NUM_THREADS"] {
            if let v = env[key], let n = Int(v), n > 0 { return ComputeContext(threads: n) }
        }
        return ComputeContext(threads: max(1, ProcessInfo.processInfo.activeProcessorCount))
    }()

    /// The calling thread's context: the innermost `run(_:)` on this thread, else `processDefault`.
    public static var current: ComputeContext {
        guard let p = pthread_getspecific(CurrentContextKey.key) else { return processDefault }
        return Unmanaged<ComputeContext>.fromOpaque(p).takeUnretainedValue()
    }

    /// Runs `body` on the calling thread with this context installed, then restores the
    /// previous one. Nesting is allowed; the innermost context wins.
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(CurrentContextKey.key)
        let mine = Unmanaged.passUnretained(self).toOpaque()
        if previous == mine { return try body() }
        pthread_setspecific(CurrentContextKey.key, mine)
        // `self` is alive for the whole call, so the unretained pointer stays valid.
        defer { pthread_setspecific(CurrentContextKey.key, previous) }
        return try withExtendedLifetime(self) { try body() }
    }

    /// Pins the calling thread to `cores` (sched_setaffinity on this thread only; Linux affinity
    /// is per thread). Call it once on the role's dedicated compute thread; a context without
    /// cores leaves the thread alone.
    /// - Throws: `ComputeContextError` naming the cores and the errno when the system refuses.
    public func pinCurrentThread() throws {
        guard let cores, !cores.isEmpty else { return }
        let status = cores.map(Int32.init).withUnsafeBufferPointer { rk_pin_current_thread($0.baseAddress, Int32($0.count)) }
        if status != 0 {
            throw ComputeContextError(message: "cannot pin the compute thread to cores \(cores): \(String(cString: strerror(status))) (errno \(status))")
        }
    }

    /// The cores the calling thread may run on now.
    public static func currentThreadCores() -> [Int] {
        var buffer = [Int32](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBufferPointer { rk_current_thread_cores($0.baseAddress, Int32($0.count)) }
        return n > 0 ? buffer[0..<Int(n)].map(Int.init) : []
    }

    public var description: String {
        "ComputeContext(threads: \(threads)" + (cores.map { ", cores: \($0)" } ?? "") + ")"
    }

    /// OpenBLAS runs every call on its caller's thread: set once per process, never switched.
    private static let processBLASConfigured: Void = { openblas_set_num_threads(1) }()

    /// Makes sure OpenBLAS has been set to one thread before its first call (a no-op after).
    @inline(__always)
    static func ensureProcessBLAS() { _ = processBLASConfigured }
}

/// A compute context the system refused (pinning to cores it does not have).
public struct ComputeContextError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// The thread-local slot holding the installed context (unretained; `run` keeps it alive).
private enum CurrentContextKey {
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()
}
