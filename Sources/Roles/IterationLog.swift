import Training

/// Where each iteration's figures go: `metrics.jsonl` (one line per iteration, `step` =
/// iteration), the TensorBoard event file when asked for, and a summary line with the time left
/// to the progress log.
final class IterationLog {
    private let metrics: MetricsLog
    private let tensorBoard: TensorBoardLog?
    private let schedule: RunSchedule
    private let log: @Sendable (String) -> Void
    private var clock: ProgressClock

    /// - Parameters:
    ///   - resumed: a resumed run drops the lines written after its checkpoint (they are redone).
    init(plan: RunPlan, schedule: RunSchedule, resumed: Bool, log: @escaping @Sendable (String) -> Void) throws {
        metrics = try MetricsLog(directory: plan.directory, keepingStepsUpTo: resumed ? schedule.start : nil)
        tensorBoard = plan.reportToTensorBoard ? try TensorBoardLog(directory: plan.directory, resumedAt: resumed ? schedule.start : nil) : nil
        self.schedule = schedule
        self.log = log
        clock = ProgressClock(total: schedule.iterations.count)
    }

    /// Writes batch `iteration`'s figures.
    func write(iteration: Int, _ line: [String: Double]) throws {
        var object: [String: Any] = ["step": iteration + 1]
        for (k, v) in line { object[k] = v }
        try metrics.append(object)
        try tensorBoard?.append(object)
        clock.tick()
        if schedule.logs(after: iteration) {
            log(IterationMetrics.summary(iteration: iteration + 1, of: schedule.end, line, eta: clock.eta))
        }
    }
}
