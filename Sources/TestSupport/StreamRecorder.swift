import Foundation

/// What an `AsyncStream` has yielded so far, read without awaiting it: a test waits for an
/// element with ``waitUntil(_:timeout:interval:isolation:_:)`` instead of awaiting `next()`,
/// which waits forever when nothing comes.
public final class StreamRecorder<Element: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `recorded` and `ended` are only touched under `lock`.
    private let lock = NSLock()
    private var recorded: [Element] = []
    private var ended = false
    private var reader: Task<Void, Never>?

    /// Starts reading `stream` until it ends or ``stop()`` is called.
    public init(_ stream: AsyncStream<Element>) {
        reader = Task { [self] in
            for await element in stream { locked { recorded.append(element) } }
            locked { ended = true }
        }
    }

    /// The elements yielded so far, in order.
    public var elements: [Element] { locked { recorded } }
    /// Whether the stream has ended.
    public var isFinished: Bool { locked { ended } }

    /// Stops reading (the stream's `next()` ends when its task is cancelled).
    public func stop() { reader?.cancel() }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
