import Foundation
import XCTest

/// What Scripts/check-watchdog runs Scripts/watchdog on: a test that never finishes. It runs only
/// when RLHF_WATCHDOG_PROBE names a number of seconds (skipped otherwise, so the suite never
/// waits on it), and starts a child process that sleeps that long, which the watchdog must kill
/// with the test process.
final class HangProbeTests: XCTestCase {
    func testHangsForever_whenTheWatchdogCheckAsks() throws {
        guard let seconds = ProcessInfo.processInfo.environment["RLHF_WATCHDOG_PROBE"].flatMap(Int.init) else {
            throw XCTSkip("runs only under Scripts/check-watchdog (RLHF_WATCHDOG_PROBE=SECONDS)")
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = [String(seconds)]
        try child.run()
        hangForTheWatchdog()
    }
}

/// Blocks the calling thread for good; the check looks for this name in the printed stacks.
@inline(never)
func hangForTheWatchdog() {
    DispatchSemaphore(value: 0).wait()
}
