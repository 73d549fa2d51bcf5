import Foundation
import Model
import Roles
import Tensor
import Topology
import Training

/// `rlhf replay rerun RUN --iteration N`: loads the checkpoint from before iteration N, applies
/// the recorded batches of the iterations from there to N through the same trainer logic the
/// roles run, and compares with what the run recorded: the trainers' figures, the weight
/// digests after every update, and, when the run saved a checkpoint right after iteration N,
/// every weight bit for bit. With the thread counts of the run the answer is "identical";
/// anything else names the first iteration, tensor and place that differ.
public enum ExperienceRerun {
    public struct Result: Sendable {
        /// The checkpoint the rerun started from (nil: the run's starting models).
        public var startedFrom: String?
        /// The iterations applied (1-based).
        public var applied: ClosedRange<Int>
        /// What was compared at the end.
        public var comparedWith: String
        /// The first difference, or nil when everything matched.
        public var difference: String?
        /// The trainers' figures of iteration N, recorded and recomputed.
        public var figures: [(name: String, recorded: Double, rerun: Double)]
    }

    /// - Parameters:
    ///   - run: the run directory.
    ///   - iteration: the iteration to rerun, 1-based as `rlhf replay ls` shows it.
    ///   - progress: a line per step.
    public static func run(run: String, iteration: Int, progress: (String) -> Void) throws -> Result {
        let runDirectory = URL(fileURLWithPath: run).standardizedFileURL.path
        let reader = try ExperienceLogReader(run: runDirectory)
        let recorded = try RecordedRun.load(from: reader.directory)
        let plan = try plan(of: recorded, log: reader.directory, runDirectory: runDirectory)
        let target = iteration - 1
        guard target >= 0, target < plan.iterations else {
            throw ReplayError(.notFound, "--iteration \(iteration): the run has iterations 1-\(plan.iterations)")
        }
        let checkpoint = CheckpointState.all(in: runDirectory).filter { $0.state.iteration <= target }
            .max { $0.state.iteration < $1.state.iteration }
        let first = checkpoint?.state.iteration ?? 0
        var records: [Int: ExperienceRecord] = [:]
        try reader.forEach { r, _ in
            if (first...target).contains(r.batch.iteration) { records[r.batch.iteration] = r }
            return r.batch.iteration < target
        }
        for i in first...target where records[i] == nil {
            throw ReplayError(.notFound, "\(reader.directory): no record of iteration \(i + 1), which the rerun from \(checkpoint?.path ?? "the starting models") needs")
        }

        let actorContext = ComputeContext(threads: plan.threads[.actor] ?? 1)
        let criticContext = ComputeContext(threads: plan.threads[.critic] ?? 1)
        progress("loading the actor\(plan.algorithm.usesCritic ? " and the critic" : "") (\(actorContext))")
        let actor = try actorContext.run { try PolicyTrainerLogic(plan: plan) }
        let critic = plan.algorithm.usesCritic ? try criticContext.run { try CriticLogic(plan: plan) } : nil
        if let checkpoint {
            progress("restoring \(checkpoint.path)")
            try actorContext.run { try actor.restore(from: "\(checkpoint.path)/actor") }
            try criticContext.run { try critic?.restore(from: "\(checkpoint.path)/critic", iteration: first) }
        }

        var figures: [(name: String, recorded: Double, rerun: Double)] = []
        for i in first...target {
            let record = records[i]!
            progress("applying the recorded batch of iteration \(i + 1) (\(record.batch.B) samples)")
            var rerun: [String: Double] = [:]
            var digests: [String: [TensorDigest]] = [:]
            let policy = try actorContext.run { try actor.handle(.trainPolicy(record.batch)) }
            if case .trained(let m, let v, let d) = policy {
                for (k, x) in m { rerun[k] = x }
                rerun["policy_version"] = Double(v)
                digests[RoleName.actor.rawValue] = d
            }
            if let critic, case .trained(let m, _, let d) = try criticContext.run({ try critic.handle(.trainValue(record.batch)) }) {
                for (k, x) in m { rerun[k] = x }
                digests[RoleName.critic.rawValue] = d
            }
            if i == target {
                figures = record.trained.keys.sorted().filter { !RunDiff.timing($0) && rerun[$0] != nil }
                    .map { ($0, record.trained[$0]!, rerun[$0]!) }
            }
            if let d = firstDigestDifference(recorded: record.digests, rerun: digests) {
                return Result(startedFrom: checkpoint?.path, applied: (first + 1)...(i + 1), comparedWith: "the recorded weight digests",
                              difference: "iteration \(i + 1): \(d)", figures: figures)
            }
        }
        // Bit for bit against the checkpoint saved right after the target iteration, if any.
        let after = (runDirectory as NSString).appendingPathComponent("checkpoint-\(target + 1)")
        var compared = "the recorded weight digests of every tensor"
        if FileManager.default.fileExists(atPath: "\(after)/\(CheckpointState.fileName)") {
            progress("comparing every weight with \(after)")
            let saved = try actorContext.run { try PolicyTrainerLogic(plan: plan) }
            try actorContext.run { try saved.restore(from: "\(after)/actor") }
            compared = "every weight of \(after)/actor"
            if let d = firstValueDifference(actor.trainable, saved.trainable) {
                return Result(startedFrom: checkpoint?.path, applied: (first + 1)...(target + 1), comparedWith: compared,
                              difference: "actor: \(d)", figures: figures)
            }
            if let critic {
                let savedCritic = try criticContext.run { try CriticLogic(plan: plan) }
                try criticContext.run { try savedCritic.restore(from: "\(after)/critic", iteration: target + 1) }
                compared += " and \(after)/critic"
                if let d = firstValueDifference(critic.trainable, savedCritic.trainable) {
                    return Result(startedFrom: checkpoint?.path, applied: (first + 1)...(target + 1), comparedWith: compared,
                                  difference: "critic: \(d)", figures: figures)
                }
            }
        }
        let figure = figures.first { $0.recorded.bitPattern != $0.rerun.bitPattern }
        return Result(startedFrom: checkpoint?.path, applied: (first + 1)...(target + 1), comparedWith: compared,
                      difference: figure.map { "iteration \(target + 1): \($0.name) was \($0.recorded), the rerun gives \($0.rerun)" },
                      figures: figures)
    }

    /// The run's plan rebuilt from the log's copy of its topology, its relative paths read from
    /// the directory the run was launched in (this process's own directory is left alone).
    static func plan(of recorded: RecordedRun, log: String, runDirectory: String) throws -> RunPlan {
        let topology = (log as NSString).appendingPathComponent(RecordedRun.topologyCopy)
        let options = TopologyValidator.Options(baseDirectory: recorded.workingDirectory, localHosts: [])
        var plan = try TopologyParser.load(path: topology, options: options).runPlan(baseDirectory: recorded.workingDirectory)
        if let n = recorded.iterations { plan.iterations = n }
        plan.directory = runDirectory
        return plan
    }

    static func firstDigestDifference(recorded: [String: [TensorDigest]], rerun: [String: [TensorDigest]]) -> String? {
        for role in recorded.keys.sorted() {
            let (x, y) = (recorded[role]!, rerun[role] ?? [])
            guard x.count == y.count else { return "\(role): \(x.count) tensors recorded, \(y.count) trained" }
            if let (u, v) = zip(x, y).first(where: { $0 != $1 }) {
                return "\(role) tensor \(u.name) differs (digest \(u.hex) recorded, \(v.hex) rerun\(u.name == v.name ? "" : " of \(v.name)"))"
            }
        }
        return nil
    }

    /// The first tensor and element where two parameter blocks of the same layout differ in bits.
    static func firstValueDifference(_ a: any TrainableParameters, _ b: any TrainableParameters) -> String? {
        for entry in a.tensors {
            let (x, y) = (a.values.pointer + entry.offset, b.values.pointer + entry.offset)
            for k in 0..<entry.count where x[k].bitPattern != y[k].bitPattern {
                return "tensor \(entry.name) \(entry.shape) element \(k): the rerun gives \(x[k]), the checkpoint holds \(y[k])"
            }
        }
        return nil
    }
}
