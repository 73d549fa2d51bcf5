import Foundation

/// Shows training progress: on a terminal, one line redrawn in place (`\r`) with a bar, the
/// step, the loss, tokens per second and the ETA; otherwise plain lines, one per logging step,
/// that read well in a log file.
public final class ProgressDisplay {
    private let totalSteps: Int
    private let isTerminal: Bool
    private let silent: Bool
    private var barShown = false

    init(style: TrainerOptions.ProgressStyle, totalSteps: Int) {
        self.totalSteps = totalSteps
        silent = style == .silent
        isTerminal = style == .automatic && isatty(STDOUT_FILENO) == 1
    }

    /// Redraws the bar (terminal only).
    func update(step: Int, loss: Double, tokensPerSecond: Double, etaSeconds: Double) {
        guard isTerminal else { return }
        let width = 24
        let filled = totalSteps > 0 ? width * step / totalSteps : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let speed = tokensPerSecond >= 1000 ? String(format: "%.1fk", tokensPerSecond / 1000) : String(format: "%.0f", tokensPerSecond)
        let text = String(format: "\r[%@] %d/%d  loss %.4f  %@ tok/s  ETA %@\u{1B}[K", bar, step, totalSteps, loss, speed,
                          ProgressDisplay.clock(etaSeconds))
        write(text)
        barShown = true
    }

    /// A line shown only when there is no bar (the logging-step lines).
    func plainLine(_ text: String) {
        if !isTerminal && !silent { write(text + "\n") }
    }

    /// A line shown in both modes (evaluations, saves, warnings); on a terminal it goes above the bar.
    func message(_ text: String) {
        guard !silent else { return }
        if barShown { write("\r\u{1B}[K") }
        write(text + "\n")
    }

    /// Ends the bar's line.
    func finish() {
        if barShown { write("\n") }
        barShown = false
    }

    /// Through stdio like `print`, so these lines and the caller's stay in order in a pipe.
    private func write(_ text: String) {
        print(text, terminator: "")
        fflush(nil)  // all streams; naming `stdout` is not concurrency-safe in Swift 6
    }

    /// `h:mm:ss` (or `m:ss` under an hour).
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
