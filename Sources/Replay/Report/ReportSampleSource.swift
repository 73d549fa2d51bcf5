/// Where `rlhf replay report` gets the samples it shows: chosen from the run's experience log.
public enum ReportSampleSource {
    /// Up to `count` samples of the run in `run` (a run directory), chosen to be worth looking
    /// at (highest and lowest reward, advantage, KL), or none when the run has no experience log.
    public static func samples(run: String, count: Int) throws -> [ReportSample] {
        // TODO(lead): read the experience log
        []
    }
}
