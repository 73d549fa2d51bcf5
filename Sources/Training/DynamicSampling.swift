/// DAPO's dynamic sampling (Yu et al. 2025, arXiv 2503.14476, section 3.2): of the groups of
/// answers generated in an iteration, keep those whose scores differ, since a group whose
/// answers all score the same has zero group-relative advantage and gives no policy gradient.
public enum DynamicSampling {
    /// The groups to train on.
    /// - Parameters:
    ///   - scores: (groups x groupSize) each answer's score, group after group.
    ///   - groupSize: answers per prompt.
    ///   - count: groups to keep.
    /// - Returns: the indices of the kept groups, ascending: the first `count` groups whose
    ///   scores differ, filled up with the first groups whose scores do not when too few
    ///   differ; and how many of all the groups had differing scores.
    public static func keptGroups(scores: [Float], groupSize: Int, count: Int) -> (kept: [Int], withSignal: Int) {
        precondition(groupSize >= 1 && scores.count % groupSize == 0, "whole groups of scores")
        let groups = scores.count / groupSize
        let signal = (0..<groups).filter { g in
            let s = scores[(g * groupSize)..<((g + 1) * groupSize)]
            return s.contains { $0 != s.first! }
        }
        let flat = (0..<groups).filter { !Set(signal).contains($0) }
        let kept = Array(signal.prefix(count)) + Array(flat.prefix(max(0, count - signal.count)))
        return (kept.sorted(), signal.count)
    }
}
