/// What `TaskChecker` says of a response to a prompt.
public enum TaskVerdict: Sendable, Hashable {
    /// The response is the right answer (up to whitespace, one trailing period and case).
    case correct
    /// The response is not the right answer; `expected` is the right one in canonical form
    /// (e.g. `68`, or `cat dog sun`).
    case wrong(expected: String)
    /// The prompt is not one of the checkable tasks, so there is nothing to judge.
    case notATask

    /// True for `.correct` only.
    public var isCorrect: Bool { self == .correct }
}
