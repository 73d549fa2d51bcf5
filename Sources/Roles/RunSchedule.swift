/// What happens when, in a step-3 run: the one place that says which policy (and critic)
/// version generates and values each batch, which seed samples it, and after which iterations
/// the run evaluates and saves. Every figure depends on the iteration only, never on timing,
/// which is what makes a run give the same bits in one process or five, at any staleness.
struct RunSchedule: Sendable {
    /// The first iteration this process runs (0, or the iteration of the checkpoint resumed).
    let start: Int
    /// Iterations in all.
    let end: Int
    let staleness: Int
    let saveEvery: Int
    let evalEvery: Int
    let logEvery: Int
    let seed: UInt64

    init(plan: RunPlan, start: Int) {
        self.start = start
        end = plan.iterations
        staleness = plan.algorithm.maxStaleness
        saveEvery = max(1, plan.saveEvery)
        evalEvery = plan.evalEvery
        logEvery = max(1, plan.logEvery)
        seed = plan.seed
    }

    /// The iterations to run.
    var iterations: Range<Int> { start..<max(start, end) }

    /// The version of the policy that generates batch `iteration`, and of the critic that values
    /// it: `max(iteration - max_staleness, start)`. Each trainer makes one version per batch, so
    /// version v exists once batch v - 1 was trained (and the resumed version from the start).
    func version(generating iteration: Int) -> Int { max(iteration - staleness, start) }

    /// The version the trainers hold after training batch `iteration`.
    func version(after iteration: Int) -> Int { iteration + 1 }

    /// The seed batch `iteration` is sampled with.
    func generationSeed(_ iteration: Int) -> UInt64 { RunPlan.generationSeed(runSeed: seed, iteration: iteration) }

    /// Whether the run evaluates after batch `iteration`: every `eval_every` and at the end.
    func evaluates(after iteration: Int) -> Bool {
        evalEvery > 0 && ((iteration + 1) % evalEvery == 0 || iteration + 1 == end)
    }

    /// Whether the run saves a checkpoint after batch `iteration`: every `save_every` and at the end.
    func saves(after iteration: Int) -> Bool { (iteration + 1) % saveEvery == 0 || iteration + 1 == end }

    /// Whether batch `iteration`'s summary line is logged.
    func logs(after iteration: Int) -> Bool { (iteration + 1) % logEvery == 0 || iteration + 1 == end }
}
