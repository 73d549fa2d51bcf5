import Dispatch

/// Runs async work from a synchronous command on the main thread, which is not one of the
/// cooperative pool's threads, so blocking it while the work runs starves nothing.
func runAsync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    let outcome = AsyncOutcome<T>()
    Task.detached {
        do { outcome.result = .success(try await body()) } catch { outcome.result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    return try outcome.result!.get()
}

private final class AsyncOutcome<T>: @unchecked Sendable {
    // @unchecked Sendable: written by the task before it signals the semaphore, read after the
    // main thread's wait returns; the semaphore orders the two.
    var result: Result<T, any Error>?
}
