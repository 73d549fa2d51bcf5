import Foundation

/// Where `rlhf replay report` gets the samples it shows: chosen from the run's experience log.
public enum ReportSampleSource {
    /// What is worth looking at first, in turn: the best and worst rewarded answers (reward
    /// hacking shows as a high score on a wrong answer), the answers that moved furthest from
    /// the reference, and the extremes of advantage.
    static let picks: [(SampleDetail.Ranking, highest: Bool, label: String)] = [
        (.reward, true, "highest reward"), (.reward, false, "lowest reward"), (.kl, true, "highest KL"),
        (.advantage, true, "highest mean advantage"), (.advantage, false, "lowest mean advantage"), (.length, true, "longest"),
    ]

    /// Up to `count` samples of the run in `run` (a run directory), chosen to be worth looking
    /// at (highest and lowest reward, advantage, KL), or none when the run has no experience log.
    public static func samples(run: String, count: Int) throws -> [ReportSample] {
        guard count > 0, let reader = try? ExperienceLogReader(run: run) else { return [] }
        let text = TokenText(logDirectory: reader.directory)
        let perPick = (count + picks.count - 1) / picks.count
        var lists: [[(SampleDetail, String)]] = []
        for ranking in SampleDetail.Ranking.allCases where picks.contains(where: { $0.0 == ranking }) {
            let (high, low) = try SampleRanking.extremes(reader, by: ranking, count: perPick)
            for pick in picks where pick.0 == ranking {
                lists.append((pick.highest ? high : low).map { ($0, pick.label) })
            }
        }
        // Round robin over the picks, each sample once.
        var out: [ReportSample] = []
        var seen = Set<[Int]>()
        var k = 0
        while out.count < count, lists.contains(where: { k < $0.count }) {
            for list in lists where k < list.count && out.count < count {
                let (s, label) = list[k]
                if seen.insert([s.iteration, s.row]).inserted { out.append(s.reportSample(label: label, text: text)) }
            }
            k += 1
        }
        return out
    }
}
