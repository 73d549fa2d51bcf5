/// The kinds of task `TaskChecker` recognises; the raw values are the `task` field of the demo
/// data in `data/demo/`.
public enum TaskKind: String, Sendable, Hashable, CaseIterable {
    /// `What is 23 plus 45?`: the sum, in decimal.
    case add
    /// `What is 57 minus 23?`: the difference, in decimal.
    case subtract
    /// `Reverse the words: cat dog sun`: the words in reverse order.
    case reverse
    /// `Sort these words alphabetically: sun cat dog`: the words in alphabetical order.
    case sort
    /// `How many times does the letter e appear in green?`: the count, in decimal.
    case count
}
