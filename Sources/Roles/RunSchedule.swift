/// What happens when, in a step-3 run: the one place that says which policy (and critic)
/// version generates and values each batch, which seed samples it, and after which iterations
/// the run evaluates and saves. Every figure depends on the iteration only, never on timing,
/// which is what makes a run give the same bits in one process or five, at any staleness.
struct RunSchedule: Sendable {
    /// The first iteration this process runs (0, or the iteration of the checkpoint resumed).
    let start: Int
    /// The oldest version the trainers can still serve: 0, or for a resumed run the checkpoint's
    /// version less the older versions it kept (older checkpoints kept none).
    let oldestVersion: Int
    /// Iterations in all.
    let end: Int
    let staleness: Int
    let saveEvery: Int
    let evalEvery: Int
    let logEvery: Int
    let seed: UInt64

    init(plan: RunPlan, start: Int, keptVersions: Int = 0) {
        self.start = start
        oldestVersion = max(0, start - keptVersions)
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
    /// it: `max(iteration - max_staleness, 0)`. Each trainer makes one version per batch, so
    /// version v exists once batch v - 1 was trained. A resumed run has the versions its
    /// checkpoint kept (all it needs when it kept `max_staleness`), so it continues exactly as an
    /// uninterrupted run; from an older checkpoint, the versions it lacks are replaced by the
    /// oldest it has.
    func version(generating iteration: Int) -> Int { max(iteration - staleness, oldestVersion) }

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
