import Foundation
import Synchronization
import Tensor
import XCTest

/// Runs `body` on a new thread (as a role's compute thread) and returns its result.
func onNewThread<R: Sendable>(_ body: @escaping @Sendable () -> R) -> R {
    let slot = ResultSlot<R>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        slot.value.withLock { $0 = body() }
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    done.wait()
    return slot.value.withLock { $0! }
}

final class ResultSlot<R: Sendable>: Sendable {
    let value = Mutex<R?>(nil)
}

final class ComputeContextTests: XCTestCase {
    /// Large products split over two or three threads (every transpose, strided operands, row
    /// counts that are and are not multiples of the granule) give the same bits as on one thread.
    func testSplitSgemm_givesTheBitsOfOneThread() {
        struct Case { var M, N, K: Int; var transA, transB: Bool; var pad: Int; var alpha, beta: Float }
        let cases = [
            Case(M: 520, N: 200, K: 192, transA: false, transB: true, pad: 0, alpha: 1, beta: 0),   // Linear.forward
            Case(M: 250, N: 136, K: 520, transA: true, transB: false, pad: 3, alpha: 1, beta: 1),   // a weight gradient
            Case(M: 100, N: 1000, K: 480, transA: false, transB: false, pad: 5, alpha: 0.5, beta: 1), // three blocks of rows
            Case(M: 144, N: 500, K: 400, transA: true, transB: true, pad: 1, alpha: 2, beta: 0),     // both transposed
        ]
        for c in cases {
            XCTAssertGreaterThanOrEqual(c.M * c.N * c.K, 2 * BLAS.splitWork, "the case must be large enough to split")
            let lda = (c.transA ? c.M : c.K) + c.pad, ldb = (c.transB ? c.K : c.N) + c.pad, ldc = c.N + c.pad
            var rng = SplitMix64(seed: UInt64(c.M * 7 + c.N))
            let a = (0..<((c.transA ? c.K : c.M) * lda)).map { _ in rng.nextFloat() * 2 - 1 }
            let b = (0..<((c.transB ? c.N : c.K) * ldb)).map { _ in rng.nextFloat() * 2 - 1 }
            let c0 = (0..<(c.M * ldc)).map { _ in rng.nextFloat() * 2 - 1 }
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                var out = c0
                ComputeContext(threads: threads).run {
                    BLAS.sgemm(transA: c.transA, transB: c.transB, M: c.M, N: c.N, K: c.K, alpha: c.alpha, A: a, lda: lda,
                               B: b, ldb: ldb, beta: c.beta, C: &out, ldc: ldc)
                }
                results.append(out)
            }
            XCTAssertTrue(results[1] == results[0], "2 threads differ from 1: \(c)")
            XCTAssertTrue(results[2] == results[0], "3 threads differ from 1: \(c)")
            // And the product is right (padding columns untouched).
            var naive = [Float](repeating: 0, count: c.M * c.N)
            for i in 0..<c.M {
                for j in 0..<c.N {
                    var s: Double = 0
                    for k in 0..<c.K {
                        let x = c.transA ? a[k * lda + i] : a[i * lda + k]
                        let y = c.transB ? b[j * ldb + k] : b[k * ldb + j]
                        s += Double(x) * Double(y)
                    }
                    naive[i * c.N + j] = Float(Double(c.alpha) * s + Double(c.beta) * Double(c0[i * ldc + j]))
                }
            }
            for i in 0..<c.M {
                for j in 0..<ldc {
                    let got = results[0][i * ldc + j]
                    if j >= c.N {
                        XCTAssertEqual(got, c0[i * ldc + j], "padding written at (\(i), \(j))")
                    } else if !(abs(got - naive[i * c.N + j]) <= 1e-3) {
                        XCTFail("(\(i), \(j)): \(got) vs \(naive[i * c.N + j]) in \(c)")
                        return
                    }
                }
            }
        }
        XCTAssertEqual(BLAS.threads, 1, "OpenBLAS runs every call on its caller's thread")
    }

    /// `run` installs a context on the calling thread only, nests, and restores the previous one.
    func testRun_installsTheContextOnTheCallingThreadOnly() {
        let outer = ComputeContext(threads: 3), inner = ComputeContext(threads: 1)
        XCTAssertTrue(ComputeContext.current === ComputeContext.processDefault)
        outer.run {
            XCTAssertEqual(Parallel.threads, 3)
            inner.run { XCTAssertEqual(Parallel.threads, 1) }
            XCTAssertEqual(Parallel.threads, 3)
            // Another thread, meanwhile, sees its own (here the process default).
            let elsewhere = onNewThread { ComputeContext.current === ComputeContext.processDefault }
            XCTAssertTrue(elsewhere)
        }
        XCTAssertTrue(ComputeContext.current === ComputeContext.processDefault)
    }

    /// Pinning moves only the calling thread onto the given cores; a core the system lacks throws.
    func testPinCurrentThread_pinsThatThreadOnly() throws {
        let allowed = ComputeContext.currentThreadCores()
        XCTAssertFalse(allowed.isEmpty)
        let core = allowed.last!
        let pinned = onNewThread { () -> [Int] in
            try? ComputeContext(threads: 1, cores: [core]).pinCurrentThread()
            return ComputeContext.currentThreadCores()
        }
        XCTAssertEqual(pinned, [core])
        XCTAssertEqual(ComputeContext.currentThreadCores(), allowed, "the test's own thread moved")
        let refused = onNewThread { () -> String? in
            do {
                try ComputeContext(threads: 1, cores: [1 << 20]).pinCurrentThread()
                return nil
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(refused?.contains("\(1 << 20)") ?? false, "\(refused ?? "no error")")
    }
}
