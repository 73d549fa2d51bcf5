import Foundation
import Roles
import Training

/// `rlhf replay diff`: where two runs' experience logs first part ways: the iteration, batch,
/// sample, field and position, with both values. Floats are compared by their bits, so a
/// difference in the last place is found (and -0 differs from +0, NaN equals the same NaN).
public struct RunDifference: Sendable, Equatable, CustomStringConvertible {
    public var iteration: Int
    public var batchID: UInt64
    /// The sample (row of the batch), when the difference is inside one.
    public var sample: Int?
    public var field: String
    /// The position in the field (response token, prompt token), when it has positions.
    public var position: Int?
    public var a: String
    public var b: String

    public var description: String {
        var s = "first difference: iteration \(iteration + 1), batch \(batchID)"
        if let sample { s += ", sample \(sample)" }
        s += ", \(field)"
        if let position { s += " at position \(position)" }
        return s + ": \(a) vs \(b)"
    }
}

public enum RunDiff {
    /// The first difference between the logs, or nil when every record is the same.
    /// The logs are walked side by side, a segment of each in memory at a time.
    public static func first(_ a: ExperienceLogReader, _ b: ExperienceLogReader) throws -> RunDifference? {
        var left = a.cursor(), right = b.cursor()
        var count = 0
        while true {
            let (x, y) = (try left.next(), try right.next())
            switch (x, y) {
            case (nil, nil): return nil
            case let (x?, y?):
                if let d = compare(x, y) { return d }
                count += 1
            case let (x?, nil), let (nil, x?):
                let goesOn = "a record of iteration \(x.batch.iteration + 1)", ends = "no record after the first \(count)"
                return RunDifference(iteration: x.batch.iteration, batchID: x.batch.batchID, sample: nil, field: "records",
                                     position: nil, a: y == nil ? goesOn : ends, b: y == nil ? ends : goesOn)
            }
        }
    }

    static func compare(_ x: ExperienceRecord, _ y: ExperienceRecord) -> RunDifference? {
        let bx = x.batch, by = y.batch
        func diff(_ field: String, sample: Int? = nil, position: Int? = nil, _ u: String, _ v: String) -> RunDifference {
            RunDifference(iteration: bx.iteration, batchID: bx.batchID, sample: sample, field: field, position: position, a: u, b: v)
        }
        let scalars: [(String, String, String)] = [
            ("iteration", "\(bx.iteration + 1)", "\(by.iteration + 1)"), ("batch_id", "\(bx.batchID)", "\(by.batchID)"),
            ("samples", "\(bx.B)", "\(by.B)"), ("group_size", "\(bx.groupSize)", "\(by.groupSize)"),
            ("policy_version", "\(bx.policyVersion)", "\(by.policyVersion)"),
            ("generation_seed", ExperienceRecordCodec.hex(x.generationSeed), ExperienceRecordCodec.hex(y.generationSeed)),
            ("kl_coef", "\(x.klCoef)", "\(y.klCoef)"),
        ]
        for (name, u, v) in scalars where u != v { return diff(name, u, v) }
        for row in 0..<bx.B {
            let (px, py) = (bx.prompt(row), by.prompt(row))
            if let p = firstMismatch(px, py) { return diff("prompt", sample: row, position: p, token(px, p), token(py, p)) }
            let (tx, ty) = (bx.response(row), by.response(row))
            if let p = firstMismatch(tx, ty) { return diff("response", sample: row, position: p, token(tx, p), token(ty, p)) }
            if bx.ended[row] != by.ended[row] { return diff("ended", sample: row, "\(bx.ended[row])", "\(by.ended[row])") }
            if bx.scores[row].bitPattern != by.scores[row].bitPattern {
                return diff("score", sample: row, "\(bx.scores[row])", "\(by.scores[row])")
            }
            let n = tx.count
            let fields: [(String, [Float], [Float])] = [
                ("behaviour_logprob", bx.behaviourLogProbs, by.behaviourLogProbs), ("logprob", bx.logProbs, by.logProbs),
                ("ref_logprob", bx.refLogProbs, by.refLogProbs), ("value", bx.values, by.values),
                ("reward", bx.rewards, by.rewards), ("kl_reward", bx.klRewards, by.klRewards),
                ("advantage", bx.advantages, by.advantages), ("return", bx.returns, by.returns),
            ]
            for (name, fx, fy) in fields {
                for j in 0..<n where fx[row * bx.responseWidth + j].bitPattern != fy[row * by.responseWidth + j].bitPattern {
                    return diff(name, sample: row, position: j, "\(fx[row * bx.responseWidth + j])", "\(fy[row * by.responseWidth + j])")
                }
            }
        }
        for key in Set(x.trained.keys).union(y.trained.keys).sorted() where !timing(key) {
            let (u, v) = (x.trained[key], y.trained[key])
            if u?.bitPattern != v?.bitPattern { return diff("trained \(key)", u.map { "\($0)" } ?? "-", v.map { "\($0)" } ?? "-") }
        }
        for role in Set(x.digests.keys).union(y.digests.keys).sorted() {
            let (dx, dy) = (x.digests[role] ?? [], y.digests[role] ?? [])
            for (u, v) in zip(dx, dy) where u != v {
                return diff("\(role) weights after the update", "\(u.name) \(u.hex)", "\(v.name) \(v.hex)")
            }
            if dx.count != dy.count { return diff("\(role) weights after the update", "\(dx.count) tensors", "\(dy.count) tensors") }
        }
        return nil
    }

    /// Wall-clock figures (`*_s`) and memory figures (`memory_*`) differ between any two runs;
    /// they are not part of what a run computed.
    public static func timing(_ key: String) -> Bool { key.hasSuffix("_s") || key.hasPrefix("memory_") }

    private static func firstMismatch(_ x: [Int32], _ y: [Int32]) -> Int? {
        for i in 0..<max(x.count, y.count) where i >= x.count || i >= y.count || x[i] != y[i] { return i }
        return nil
    }

    private static func token(_ ids: [Int32], _ i: Int) -> String { i < ids.count ? "token \(ids[i])" : "(ended)" }
}
