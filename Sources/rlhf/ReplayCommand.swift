import ArgumentParser
import Foundation
import Replay
import Roles

/// `rlhf replay ...`: look into a step-3 run's experience log (Docs/replay.md).
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Inspect and replay the experiences a step-3 run recorded (RUN/experiences).",
        subcommands: [ReplayList.self, ReplayShow.self, ReplayExport.self, ReplayDiff.self, ReplayRerun.self, ReplayTop.self,
                      ReplayReportCommand.self])
}

/// Reports the state of a log's end when a record is unfinished or torn.
func noteTail(_ tail: ExperienceLogReader.Tail, _ reader: ExperienceLogReader) {
    guard tail.trailingBytes > 0 else { return }
    FileHandle.standardError.write(Data("note: \(tail.trailingBytes) bytes at the end of \(reader.segments.last ?? reader.directory) are not a whole record (\(tail.reason ?? "")): a record being written, or a torn one the next run cuts\n".utf8))
}

struct ReplayList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "One line per recorded iteration: samples, mean score, KL, response length, policy lag.")
    @Argument(help: "The run directory.") var directory: String

    func run() throws {
        let reader = try ExperienceLogReader(run: directory)
        let text = TokenText(logDirectory: reader.directory)
        let widths = [9, 8, 7, 10, 9, 7, 7, 7, 4, 6]
        print(zip(["iteration", "batch", "samples", "score", "kl", "length", "ended", "version", "lag", "right"], widths)
            .map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined(separator: " "))
        var count = 0
        let tail = try reader.forEach { r, _ in
            let s = IterationSummary(r)
            let ended = "\(s.samples - s.neverEnded)/\(s.samples)"
            print(String(format: "%9d %8llu %7d %10.4f %9.4f %7.2f ", s.iteration + 1, s.batchID, s.samples, s.meanScore,
                         s.meanKL, s.meanResponseLength)
                  + String(repeating: " ", count: max(0, 7 - ended.count)) + ended
                  + String(format: " %7d %4d ", s.policyVersion, s.policyLag) + rightShare(r, text))
            count += 1
            return true
        }
        print("\(count) iterations recorded in \(reader.directory) (\(reader.segments.count) segment\(reader.segments.count == 1 ? "" : "s"))")
        noteTail(tail, reader)
    }
}

/// The "right" column: the rule checker's share of right answers, "-" when it knows none of the prompts.
private func rightShare(_ r: ExperienceRecord, _ text: TokenText) -> String {
    RuleVerdict.shareRight(in: r, text: text).map { String(format: "%6.3f", $0) } ?? "     -"
}

struct ReplayShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "One sample decoded token by token, with every per-token figure and its reward.")
    @Argument(help: "The run directory.") var directory: String
    @Option(help: "The iteration (1-based, as `ls` shows).") var iteration: Int
    @Option(help: "The sample (row of the batch, from 0).") var sample = 0

    func run() throws {
        let reader = try ExperienceLogReader(run: directory)
        let record = try reader.record(iteration: iteration - 1)
        let s = try SampleDetail(record, row: sample)
        let text = TokenText(logDirectory: reader.directory)
        print("iteration \(iteration), batch \(record.batch.batchID), sample \(sample) of \(record.batch.B) (group \(sample / max(1, record.batch.groupSize)), policy version \(record.batch.policyVersion), kl_coef \(record.klCoef))")
        print("prompt:   \(text.text(s.prompt).debugDescription)")
        print("response: \(text.text(s.response).debugDescription)\(s.ended ? "" : "  (never ended: cut at max_new_tokens)")")
        print(String(format: "score %.4f   sum KL %.4f   mean advantage %.4f", s.score, s.sequenceKL, s.meanAdvantage)
              + (RuleVerdict.of(prompt: text.text(s.prompt), response: text.text(s.response)).map { "   rule checker: \($0)" } ?? ""))
        let columns = ["pos", "token", "id"] + PerTokenFigures.Field.allCases.map(\.rawValue)
        print(columns.enumerated().map { $0.offset == 1 ? $0.element.padding(toLength: 12, withPad: " ", startingAt: 0) : pad($0.element, $0.offset == 0 || $0.offset == 2 ? 5 : 11) }.joined(separator: " "))
        for (j, id) in s.response.enumerated() {
            var row = [pad("\(j)", 5), text.piece(id).debugDescription.padding(toLength: 12, withPad: " ", startingAt: 0), pad("\(id)", 5)]
            for field in PerTokenFigures.Field.allCases { row.append(pad(String(format: "%.4f", s.perToken[field][j]), 11)) }
            print(row.joined(separator: " "))
        }
    }

    private func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
}

struct ReplayExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Every sample as JSON lines or CSV (decoded text and every per-token field).")
    @Argument(help: "The run directory.") var directory: String
    @Option(help: "jsonl (one sample per line) or csv (one token per row).") var format: String = "jsonl"
    @Option(help: "Write here (atomically) instead of to standard output.") var out: String?

    func run() throws {
        guard let f = ExperienceExport.Format(rawValue: format) else {
            throw ValidationError("--format \(format): expected jsonl or csv")
        }
        let reader = try ExperienceLogReader(run: directory)
        if let out {
            var data = Data()
            try ExperienceExport.export(reader, format: f) { data.append(contentsOf: Array($0.utf8)) }
            try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            FileHandle.standardError.write(Data("wrote \(out)\n".utf8))
        } else {
            try ExperienceExport.export(reader, format: f) { FileHandle.standardOutput.write(Data($0.utf8)) }
        }
    }
}

struct ReplayDiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "The first iteration, batch, sample and field at which two runs' experiences differ.")
    @Argument(help: "The first run directory.") var runA: String
    @Argument(help: "The second run directory.") var runB: String

    func run() throws {
        let a = try ExperienceLogReader(run: runA), b = try ExperienceLogReader(run: runB)
        if let d = try RunDiff.first(a, b) {
            print(d.description)
            throw ExitCode(1)
        }
        print("the runs recorded the same experiences, figures and weights, bit for bit")
    }
}

struct ReplayRerun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Apply an iteration's recorded batch to the checkpoint before it and compare with what the run recorded.")
    @Argument(help: "The run directory.") var directory: String
    @Option(help: "The iteration to rerun (1-based, as `ls` shows).") var iteration: Int

    func run() throws {
        let result = try ExperienceRerun.run(run: directory, iteration: iteration) { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        print("started from \(result.startedFrom ?? "the run's starting models"); applied iteration\(result.applied.count == 1 ? "" : "s") \(result.applied.lowerBound == result.applied.upperBound ? "\(result.applied.lowerBound)" : "\(result.applied.lowerBound)-\(result.applied.upperBound)")")
        for f in result.figures {
            let same = f.recorded.bitPattern == f.rerun.bitPattern
            print("  \(f.name.padding(toLength: 18, withPad: " ", startingAt: 0)) recorded \(f.recorded)  rerun \(f.rerun)\(same ? "" : "  DIFFERS")")
        }
        if let d = result.difference {
            print("differs: \(d) (compared with \(result.comparedWith))")
            throw ExitCode(1)
        }
        print("identical: the rerun reproduces \(result.comparedWith), bit for bit")
    }
}

struct ReplayTop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "The highest and lowest samples by reward, KL, advantage or length: reward hacking shows here.")
    @Argument(help: "The run directory.") var directory: String
    @Option(help: "reward, kl, advantage or length.") var by: String = "reward"
    @Option(name: [.customShort("n"), .long], help: "Samples at each end.") var count = 5

    func run() throws {
        guard let ranking = SampleDetail.Ranking(rawValue: by) else {
            throw ValidationError("--by \(by): expected one of \(SampleDetail.Ranking.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let reader = try ExperienceLogReader(run: directory)
        let text = TokenText(logDirectory: reader.directory)
        let (high, low) = try SampleRanking.extremes(reader, by: ranking, count: max(1, count))
        for (title, list) in [("highest", high), ("lowest", low)] {
            print("\(title) \(by):")
            for s in list {
                print(String(format: "  %10.4f  iteration %d sample %d  ", s.value(ranking), s.iteration + 1, s.row)
                      + "\(text.text(s.prompt).debugDescription) -> \(text.text(s.response).debugDescription)"
                      + String(format: "  (score %.3f, kl %.3f", s.score, s.sequenceKL)
                      + (RuleVerdict.of(prompt: text.text(s.prompt), response: text.text(s.response)).map { ", \($0))" } ?? ")"))
            }
        }
    }
}
