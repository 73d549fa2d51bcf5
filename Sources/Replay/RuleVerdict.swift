import Foundation
import Roles
import Tasks

/// The demo tasks' rule checker applied to a recorded sample, so a replay can show beside a
/// reward model's score whether the answer is right: a high score on a wrong answer is the
/// reward model being exploited.
public enum RuleVerdict {
    private static let checker = TaskChecker()

    /// "right", "wrong (expected X)", or nil when the prompt is not a demo task.
    /// - Parameters:
    ///   - prompt: the prompt as decoded, chat template included (" Human: ... Assistant:").
    ///   - response: the response as decoded.
    public static func of(prompt: String, response: String) -> String? {
        task(in: prompt).map { describe($0.check(response: response)) }
    }

    /// The share of a record's answers the rule checker finds right, over those whose prompt is
    /// a demo task; nil when none is. Beside the reward model's mean score it is where reward
    /// hacking shows (`rlhf replay ls`).
    public static func shareRight(in record: ExperienceRecord, text: TokenText) -> Double? {
        let b = record.batch
        var judged = 0, right = 0
        var prompt: (group: Int, task: TaskChecker.Task?) = (-1, nil)
        for row in 0..<b.B {
            // The rows of a group answer one prompt: decode and parse it once.
            let group = row / max(1, b.groupSize)
            if group != prompt.group { prompt = (group, task(in: text.text(b.prompt(row)))) }
            guard let task = prompt.task else { continue }
            judged += 1
            if task.check(response: text.text(b.response(row))).isCorrect { right += 1 }
        }
        return judged == 0 ? nil : Double(right) / Double(judged)
    }

    /// The demo task of a prompt as recorded: the whole prompt, or the question inside its chat
    /// template.
    static func task(in prompt: String) -> TaskChecker.Task? {
        checker.task(prompt: prompt) ?? checker.task(prompt: question(in: prompt))
    }

    static func describe(_ verdict: TaskVerdict) -> String {
        switch verdict {
        case .correct: "right"
        case .wrong(let expected): "wrong (expected \(expected))"
        case .notATask: "not a task"
        }
    }

    /// The last user turn of a prompt rendered with a Human:/Assistant: template (DeepSpeed-Chat's,
    /// the demo's), or the prompt unchanged when it has none.
    static func question(in prompt: String) -> String {
        var text = prompt
        if let r = text.range(of: "Human:", options: .backwards) { text = String(text[r.upperBound...]) }
        if let r = text.range(of: "Assistant:", options: .backwards) { text = String(text[..<r.lowerBound]) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
