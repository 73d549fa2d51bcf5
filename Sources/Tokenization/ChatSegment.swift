/// A special token a chat template places between texts.
public enum SpecialToken: String, Sendable, Equatable, Codable {
    case bos, eos
}

/// One piece of a rendered conversation: text, or a special token, and whether it belongs to
/// an assistant turn.
///
/// Training puts loss on exactly the assistant pieces (an answer's text and its end marker).
/// Special tokens are kept apart from the text so that they encode to their ids structurally:
/// a user who writes "</s>" in a message gets the characters, not an end of sequence.
public struct ChatSegment: Sendable, Equatable {
    /// The text; for a special token, the literal the template shows for it ("</s>", "<|im_end|>").
    public var text: String
    /// True for an assistant's answer and its end marker.
    public var isAssistant: Bool
    /// Set when this piece is a special token rather than text.
    public var special: SpecialToken?

    /// - Parameters:
    ///   - text: the text, or the literal shown for `special`.
    ///   - isAssistant: whether the piece is part of an assistant turn.
    ///   - special: the special token this piece stands for, if any.
    public init(text: String, isAssistant: Bool, special: SpecialToken? = nil) {
        self.text = text
        self.isAssistant = isAssistant
        self.special = special
    }
}

extension TextTokenizer {
    /// Encodes rendered segments to ids, with a flag per id saying whether it is an assistant
    /// token. Text is encoded segment by segment, so the prompt of a conversation encodes to
    /// exactly the first ids of the whole conversation (what generation and training both see).
    /// A special token the model lacks (id -1) is left out.
    ///
    /// - Parameter segments: the output of `ChatTemplate.segments` or `promptSegments`.
    /// - Returns: ids and a same-length assistant flag per id.
    public func encode(_ segments: [ChatSegment]) throws -> (ids: [Int], isAssistant: [Bool]) {
        var ids: [Int] = []
        var isAssistant: [Bool] = []
        ids.reserveCapacity(segments.count * 16)
        isAssistant.reserveCapacity(segments.count * 16)
        for segment in segments {
            let piece: [Int]
            switch segment.special {
            case .bos?: piece = bosID >= 0 ? [bosID] : []
            case .eos?: piece = eosID >= 0 ? [eosID] : []
            case nil: piece = segment.text.isEmpty ? [] : try encode(segment.text)
            }
            ids.append(contentsOf: piece)
            isAssistant.append(contentsOf: repeatElement(segment.isAssistant, count: piece.count))
        }
        return (ids, isAssistant)
    }
}

/// Accumulates segments, merging neighbouring texts of the same side so that a prompt's
/// segments are always a prefix of the segments of its continuation.
struct SegmentBuilder {
    private(set) var segments: [ChatSegment]

    init(segments: [ChatSegment] = []) { self.segments = segments }

    mutating func text(_ text: String, assistant: Bool = false) {
        guard !text.isEmpty else { return }
        if let last = segments.indices.last, segments[last].special == nil,
           segments[last].isAssistant == assistant {
            segments[last].text += text
        } else {
            segments.append(ChatSegment(text: text, isAssistant: assistant))
        }
    }

    mutating func special(_ token: SpecialToken, literal: String, assistant: Bool = false) {
        segments.append(ChatSegment(text: literal, isAssistant: assistant, special: token))
    }
}
