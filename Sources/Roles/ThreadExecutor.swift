import Foundation
import Tensor

/// A serial executor backed by one dedicated thread: a role's actor runs every job on it, so the
/// role's heavy compute (forward and backward passes, generation) never occupies Swift's
/// cooperative pool, whose two threads on this machine must stay free for message handling.
///
/// The thread lives until `shutdown()`; jobs enqueued after that are run by nobody, so owners
/// shut it down only once their actor has no work left.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `stopped` are only touched with `condition` locked, and the
    // thread handle is written once in init before any other thread can see the executor.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false
    private var thread: Thread?
    public let name: String
    /// The role's compute context: installed around every job, so each kernel the role runs
    /// reads the role's thread count, and the thread is pinned to its cores when given.
    public let context: ComputeContext

    /// Starts the thread.
    /// - Parameters:
    ///   - name: the thread's name (shown by debuggers and `top -H`).
    ///   - context: the role's threads and cores.
    public init(name: String, context: ComputeContext) {
        self.name = name
        self.context = context
        let t = Thread { [unowned self] in
            if context.cores != nil {
                // A core the machine lacks was refused by the topology's validation already;
                // a failure here leaves the thread unpinned rather than the role dead.
                try? context.pinCurrentThread()
            }
            self.loop()
        }
        t.name = name
        // Generation and backward passes recurse little but allocate large stack frames in
        // BLAS; 8 MB as the main thread has.
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish the jobs it has and exit.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            context.run { job.runSynchronously(on: asUnownedSerialExecutor()) }
        }
    }
}
