/// Judges responses to the demo tasks (`data/demo/`) by rule: it parses the prompt, in any of its
/// phrasings, recomputes the right answer, and compares.
///
/// A grader's tolerance and no more: the prompt is matched case-insensitively with whitespace
/// collapsed and its final `?` or `.` optional; a response may carry surrounding whitespace, one
/// trailing period and any case, and a word list may separate its words with spaces and/or
/// commas. Any other difference -- another number, a word missing, added or out of place, text
/// around the answer -- makes it wrong. Any integers (up to 9 digits) and any words of the
/// letters a-z are understood, not only the demo vocabulary.
///
/// ```swift
/// let checker = TaskChecker()
/// checker.check(prompt: "What is 23 plus 45?", response: "68.")    // .correct
/// checker.check(prompt: "Reverse the words: cat dog sun", response: "cat dog sun")
///                                                                 // .wrong(expected: "sun dog cat")
/// checker.check(prompt: "Tell me a joke.", response: "No.")        // .notATask
/// ```
public struct TaskChecker: Sendable {
    /// A task recognised in a prompt, with its right answer.
    fileprivate struct ParsedTask: Sendable {
        var kind: TaskKind
        var answer: Answer
    }

    fileprivate enum Answer: Sendable {
        case integer(Int)
        case words([String])

        var text: String {
            switch self {
            case .integer(let n): String(n)
            case .words(let w): w.joined(separator: " ")
            }
        }
    }

    private let templates: [TaskTemplate]

    /// A checker for every phrasing of the demo tasks.
    public init() { templates = TaskTemplate.all }

    // MARK: - Judging

    /// Judges one response.
    /// - Parameters:
    ///   - prompt: the task prompt, e.g. `Sort these words alphabetically: sun cat dog`.
    ///   - response: the model's answer, e.g. `cat dog sun`.
    /// - Returns: `.correct`, `.wrong(expected:)` with the right answer, or `.notATask` when the
    ///   prompt is none of the tasks.
    public func check(prompt: String, response: String) -> TaskVerdict {
        task(prompt: prompt)?.check(response: response) ?? .notATask
    }

    /// A prompt's task, parsed once, for judging many responses to it (the samples of a group).
    public struct Task: Sendable {
        fileprivate let parsed: ParsedTask

        /// Judges one response: `.correct` or `.wrong(expected:)`.
        public func check(response: String) -> TaskVerdict {
            let text = TaskText.normalizedResponse(response)
            let right: Bool
            switch parsed.answer {
            case .integer(let n): right = TaskText.integer(text) == n
            case .words(let w): right = TaskText.words(text) == w
            }
            return right ? .correct : .wrong(expected: parsed.answer.text)
        }
    }

    /// The task a prompt asks for, or nil when it is none of them.
    public func task(prompt: String) -> Task? { parse(prompt).map(Task.init) }

    /// The right answer in canonical form (the form of the demo data's `chosen`): an integer in
    /// decimal, or lower-case words separated by single spaces.
    /// - Parameter prompt: the task prompt.
    /// - Returns: the answer, or nil when the prompt is none of the tasks.
    public func expectedAnswer(prompt: String) -> String? { parse(prompt)?.answer.text }

    /// The kind of task a prompt asks for.
    /// - Parameter prompt: the task prompt.
    /// - Returns: its kind, or nil when the prompt is none of the tasks.
    public func kind(prompt: String) -> TaskKind? { parse(prompt)?.kind }

    /// The fraction of responses judged correct; a prompt that is not a task counts as not correct.
    /// - Parameters:
    ///   - prompts: the prompts.
    ///   - responses: one response per prompt, in the same order.
    /// - Returns: a value in 0...1; 0 when there are no prompts.
    public func accuracy(prompts: [String], responses: [String]) -> Double {
        precondition(prompts.count == responses.count,
                     "accuracy: \(prompts.count) prompts but \(responses.count) responses")
        guard !prompts.isEmpty else { return 0 }
        let correct = zip(prompts, responses).reduce(0) { n, pair in
            n + (check(prompt: pair.0, response: pair.1).isCorrect ? 1 : 0)
        }
        return Double(correct) / Double(prompts.count)
    }

    /// A rule-based reward: 1 when the response is correct, 0 when it is wrong or the prompt is not
    /// a task.
    /// - Parameters:
    ///   - prompt: the task prompt.
    ///   - response: the model's answer.
    /// - Returns: 1 or 0.
    public func reward(prompt: String, response: String) -> Float {
        check(prompt: prompt, response: response).isCorrect ? 1 : 0
    }

    // MARK: - Parsing

    /// The first phrasing whose slots hold valid values decides; nil when none does.
    private func parse(_ prompt: String) -> ParsedTask? {
        let text = TaskText.normalizedPrompt(prompt)
        for template in templates {
            guard let values = template.match(text) else { continue }
            switch template.kind {
            case .add, .subtract:
                guard let a = values["a"].flatMap({ TaskText.integer($0) }),
                      let b = values["b"].flatMap({ TaskText.integer($0) })
                else { continue }
                return ParsedTask(kind: template.kind, answer: .integer(template.kind == .add ? a + b : a - b))
            case .reverse, .sort:
                guard let words = values["words"].flatMap({ TaskText.words($0) }), words.count >= 2 else { continue }
                return ParsedTask(kind: template.kind, answer: .words(template.kind == .reverse ? words.reversed() : words.sorted()))
            case .count:
                guard let letter = values["letter"].map({ TaskText.unquoted($0) }),
                      let word = values["word"].map({ TaskText.unquoted($0) }),
                      letter.count == 1, TaskText.isWord(letter), TaskText.isWord(word)
                else { continue }
                return ParsedTask(kind: .count, answer: .integer(word.filter { String($0) == letter }.count))
            }
        }
        return nil
    }
}
