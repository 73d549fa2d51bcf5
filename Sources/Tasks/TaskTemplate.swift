/// One phrasing of a task prompt, e.g. `Subtract {b} from {a}.`, matched against normalised prompt
/// text. The same list lives in `Scripts/make-demo-data` (TEMPLATES); keep the two in step.
struct TaskTemplate: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case slot(String)
    }

    let kind: TaskKind
    let segments: [Segment]

    // MARK: - The phrasings

    static let all: [TaskTemplate] = [
        .init(.add, "What is {a} plus {b}?"),
        .init(.add, "Add {a} and {b}."),
        .init(.add, "Compute {a} + {b}."),
        .init(.subtract, "What is {a} minus {b}?"),
        .init(.subtract, "Subtract {b} from {a}."),
        .init(.subtract, "Compute {a} - {b}."),
        .init(.reverse, "Reverse the words: {words}"),
        .init(.reverse, "Write these words in reverse order: {words}"),
        .init(.reverse, "Reverse the order of these words: {words}"),
        .init(.sort, "Sort these words alphabetically: {words}"),
        .init(.sort, "Put these words in alphabetical order: {words}"),
        .init(.sort, "Arrange in alphabetical order: {words}"),
        .init(.count, "How many times does the letter {letter} appear in {word}?"),
        .init(.count, "Count the letter {letter} in the word {word}."),
        .init(.count, "In the word {word}, how many times does {letter} appear?"),
    ]

    // MARK: - Matching

    /// Splits `pattern` (normalised like a prompt) into literals and `{name}` slots.
    init(_ kind: TaskKind, _ pattern: String) {
        self.kind = kind
        var segments: [Segment] = []
        var rest = Substring(TaskText.normalizedPrompt(pattern))
        while !rest.isEmpty {
            guard let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") else {
                segments.append(.literal(String(rest)))
                break
            }
            if open > rest.startIndex { segments.append(.literal(String(rest[..<open]))) }
            segments.append(.slot(String(rest[rest.index(after: open)..<close])))
            rest = rest[rest.index(after: close)...]
        }
        self.segments = segments
    }

    /// The slot values if `text` (a normalised prompt) has this phrasing, else nil. A slot ends
    /// where the first occurrence of the literal after it begins, or at the end of the text.
    func match(_ text: String) -> [String: Substring]? {
        var values: [String: Substring] = [:]
        var pos = text.startIndex
        for (i, segment) in segments.enumerated() {
            switch segment {
            case .literal(let literal):
                guard text[pos...].hasPrefix(literal) else { return nil }
                pos = text.index(pos, offsetBy: literal.count)
            case .slot(let name):
                var end = text.endIndex
                if i + 1 < segments.count, case .literal(let next) = segments[i + 1] {
                    guard let range = text[pos...].firstRange(of: next) else { return nil }
                    end = range.lowerBound
                }
                values[name] = text[pos..<end]
                pos = end
            }
        }
        return pos == text.endIndex ? values : nil
    }
}
