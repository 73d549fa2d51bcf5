import Foundation

/// Waiting in tests for something that happens on another thread or in another process: poll the
/// condition itself until it holds or a deadline passes. A test that sleeps a fixed time and then
/// asserts is slow when the machine is idle and wrong when it is loaded; this returns as soon as
/// the condition holds, and when it never does, fails with what was awaited instead of hanging.

/// The deadline passed before the condition held; the test fails with this description.
public struct WaitTimedOut: Error, CustomStringConvertible {
    /// What was awaited, as the caller described it when the deadline passed.
    public let what: String
    /// The deadline.
    public let timeout: Duration

    public var description: String { "gave up after \(timeout) waiting for \(what)" }
}

/// Polls `condition` every `interval` until it holds.
/// - Parameters:
///   - what: what is awaited, for the failure; evaluated only then, so it can show the state
///     that did not change (a count, a file's contents).
///   - timeout: how long to wait at most. Generous by default: waiting costs nothing once the
///     condition holds, and a loaded machine (two cores shared by builds) is slow.
///   - interval: time between polls.
///   - condition: what must become true.
/// - Throws: ``WaitTimedOut`` naming `what`, or what `condition` threw.
@_disfavoredOverload  // in async code, the async overload below, which does not block a pool thread
public func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(60), interval: Duration = .milliseconds(5),
    _ condition: () throws -> Bool
) throws {
    let deadline = ContinuousClock.now + timeout
    while !(try condition()) {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what(), timeout: timeout) }
        let (seconds, attoseconds) = interval.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
    }
}

/// ``waitUntil(_:timeout:interval:_:)`` for async tests: sleeps without blocking a thread of the
/// cooperative pool, and runs `condition` in the caller's isolation (so it may read the test's
/// non-Sendable state and `await` actors).
public func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(60), interval: Duration = .milliseconds(5),
    isolation: isolated (any Actor)? = #isolation, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(try await condition()) {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what(), timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}
