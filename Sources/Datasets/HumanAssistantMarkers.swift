import Tokenization

/// Splits text that carries DeepSpeed-Chat's role markers into turns.
///
/// DeepSpeed-Chat prompts look like `" Human: q Assistant:"`, Dahoas/rm-static and Anthropic
/// HH-RLHF ones like `"\n\nHuman: q1\n\nAssistant: a1\n\nHuman: q2\n\nAssistant:"`. Kept as
/// text, they would be wrapped in a second set of markers by any template; split into turns,
/// they render correctly with every template (and with `deepspeed-chat` as they were written).
/// A marker counts only at the start of the text or after whitespace; text is only split when
/// it opens with `Human:` (after optional text, taken as the system prompt) and has an
/// `Assistant:` marker. A final empty `Assistant:` is the generation prefix and is dropped.
enum HumanAssistantMarkers {
    private static let markers: [(String, Conversation.Role)] = [("Human:", .user), ("Assistant:", .assistant)]

    /// The system text before the first marker and the turns, or nil when `text` does not use
    /// the markers.
    static func split(_ text: String) -> (system: String?, turns: [Conversation.Turn])? {
        var found: [(range: Range<String.Index>, role: Conversation.Role)] = []
        for (marker, role) in markers {
            for range in text.ranges(of: marker)
            where range.lowerBound == text.startIndex || text[text.index(before: range.lowerBound)].isWhitespace {
                found.append((range, role))
            }
        }
        found.sort { $0.range.lowerBound < $1.range.lowerBound }
        guard let first = found.first, first.role == .user, found.contains(where: { $0.role == .assistant }) else {
            return nil
        }
        let system = String(text[..<first.range.lowerBound]).trimmingWhitespace
        var turns: [Conversation.Turn] = []
        for (i, marker) in found.enumerated() {
            let end = i + 1 < found.count ? found[i + 1].range.lowerBound : text.endIndex
            turns.append(Conversation.Turn(role: marker.role, content: String(text[marker.range.upperBound..<end]).trimmingWhitespace))
        }
        if let last = turns.last, last.role == .assistant, last.content.isEmpty { turns.removeLast() }
        return (system.isEmpty ? nil : system, turns)
    }
}
