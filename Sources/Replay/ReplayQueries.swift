import Foundation
import Roles
import Training

/// One line of `rlhf replay ls`: what an iteration's batch looked like.
public struct IterationSummary: Sendable, Equatable {
    public var iteration: Int
    public var batchID: UInt64
    public var samples: Int
    public var meanScore: Double
    /// Mean over samples of Σ_j (log π_old - log π_ref), the k1 KL of each sequence.
    public var meanKL: Double
    public var meanResponseLength: Double
    public var neverEnded: Int
    /// The policy version that generated the batch, and how many updates it lagged the trainer.
    public var policyVersion: Int
    public var policyLag: Int

    public init(_ r: ExperienceRecord) {
        let b = r.batch
        iteration = b.iteration
        batchID = b.batchID
        samples = b.B
        meanScore = b.B == 0 ? 0 : b.scores.reduce(0) { $0 + Double($1) } / Double(b.B)
        meanKL = b.meanSequenceKL(estimator: .k1)
        meanResponseLength = b.B == 0 ? 0 : Double(b.responseTokenCount) / Double(b.B)
        neverEnded = b.ended.filter { $0 == 0 }.count
        policyVersion = b.policyVersion
        policyLag = r.policyVersionAfter - 1 - b.policyVersion
    }
}

/// The per-token figures of one response, each as long as the response.
public struct PerTokenFigures: Sendable, Equatable {
    /// The figures by the names `show`, `export` and the report use, in the order tables show them.
    public enum Field: String, CaseIterable, Sendable {
        case behaviourLogprob = "behaviour_logprob", logprob, refLogprob = "ref_logprob", kl, value, reward
        case klReward = "kl_reward", advantage, `return`
    }

    public var behaviourLogprob: [Float], logprob: [Float], refLogprob: [Float]
    /// log π_θold − log π_ref per token (k1).
    public var kl: [Float]
    public var value: [Float], reward: [Float], klReward: [Float], advantage: [Float], returns: [Float]

    public subscript(field: Field) -> [Float] {
        switch field {
        case .behaviourLogprob: behaviourLogprob
        case .logprob: logprob
        case .refLogprob: refLogprob
        case .kl: kl
        case .value: value
        case .reward: reward
        case .klReward: klReward
        case .advantage: advantage
        case .return: returns
        }
    }
}

/// One response of a record, field by field, position by position: what `show`, `export`,
/// `top` and the report read.
public struct SampleDetail: Sendable {
    public var iteration: Int
    public var row: Int
    public var prompt: [Int32]
    public var response: [Int32]
    public var ended: Bool
    public var score: Float
    public var perToken: PerTokenFigures

    public init(_ r: ExperienceRecord, row: Int) throws {
        let b = r.batch
        guard (0..<b.B).contains(row) else {
            throw ReplayError(.notFound, "iteration \(b.iteration + 1) has samples 0-\(b.B - 1); there is no sample \(row)")
        }
        iteration = b.iteration
        self.row = row
        prompt = b.prompt(row)
        response = b.response(row)
        ended = b.ended[row] != 0
        score = b.scores[row]
        let n = response.count, base = row * b.responseWidth
        func cut(_ field: [Float]) -> [Float] { Array(field[base..<(base + n)]) }
        perToken = PerTokenFigures(
            behaviourLogprob: cut(b.behaviourLogProbs), logprob: cut(b.logProbs), refLogprob: cut(b.refLogProbs),
            kl: zip(cut(b.logProbs), cut(b.refLogProbs)).map { $0 - $1 }, value: cut(b.values), reward: cut(b.rewards),
            klReward: cut(b.klRewards), advantage: cut(b.advantages), returns: cut(b.returns))
    }

    /// Σ_j KL_j of the response (k1).
    public var sequenceKL: Double { perToken.kl.reduce(0) { $0 + Double($1) } }
    /// The mean advantage over the response's tokens.
    public var meanAdvantage: Double {
        let a = perToken.advantage
        return a.isEmpty ? 0 : a.reduce(0) { $0 + Double($1) } / Double(a.count)
    }

    /// What `top` ranks by.
    public enum Ranking: String, CaseIterable, Sendable {
        case reward, kl, advantage, length
    }

    public func value(_ ranking: Ranking) -> Double {
        switch ranking {
        case .reward: Double(score)
        case .kl: sequenceKL
        case .advantage: meanAdvantage
        case .length: Double(response.count)
        }
    }

    /// The sample as the report shows it.
    public func reportSample(label: String, text: TokenText) -> ReportSample {
        let verdict = RuleVerdict.of(prompt: text.text(prompt), response: text.text(response))
        return ReportSample(iteration: iteration + 1, row: row, label: label + (verdict.map { " · \($0)" } ?? ""),
                     prompt: text.text(prompt), tokens: response.map(text.piece),
                     perToken: Dictionary(uniqueKeysWithValues: [PerTokenFigures.Field.advantage, .kl, .logprob, .refLogprob, .value, .return]
                                            .map { ($0.rawValue, perToken[$0]) }),
                     score: score)
    }
}

/// `rlhf replay top`: the highest and lowest samples of a run by one figure.
public enum SampleRanking {
    /// The `count` highest and `count` lowest samples over the whole log (ties broken by
    /// iteration, then row, so the answer is the same every time). Only the kept samples are
    /// held, so a long run's log is ranked in constant memory.
    public static func extremes(_ reader: ExperienceLogReader, by ranking: SampleDetail.Ranking, count: Int) throws
        -> (highest: [SampleDetail], lowest: [SampleDetail]) {
        // Keys order samples from highest to lowest value; NaN ranks lowest.
        typealias Key = (value: Double, iteration: Int, row: Int)
        func before(_ a: Key, _ b: Key) -> Bool { (a.value, -a.iteration, -a.row) > (b.value, -b.iteration, -b.row) }
        var high: [(Key, SampleDetail)] = [], low: [(Key, SampleDetail)] = []
        let n = max(1, count)
        try reader.forEach { r, _ in
            for row in 0..<r.batch.B {
                let s = try SampleDetail(r, row: row)
                let v = s.value(ranking)
                let key: Key = (v.isNaN ? -.infinity : v, s.iteration, row)
                if high.count < n || before(key, high[high.count - 1].0) {
                    high.insert((key, s), at: high.firstIndex { before(key, $0.0) } ?? high.count)
                    if high.count > n { high.removeLast() }
                }
                if low.count < n || before(low[low.count - 1].0, key) {
                    low.insert((key, s), at: low.firstIndex { before($0.0, key) } ?? low.count)
                    if low.count > n { low.removeLast() }
                }
            }
            return true
        }
        return (high.map(\.1), low.map(\.1))
    }
}
