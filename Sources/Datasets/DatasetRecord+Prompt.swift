import Tokenization

extension DatasetRecord {
    /// The prompt conversation, its last user message, and the reference answer of a record
    /// (an SFT conversation's last assistant turn, or a preference pair's chosen answer); nil for
    /// plain text, or a conversation with no user message. Evaluation and step 3 generate from it.
    public var promptAndReference: (conversation: Conversation, user: String, reference: String?)? {
        let conversation: Conversation, reference: String?
        switch content {
        case .conversation(let c):
            conversation = c.promptForLastResponse
            reference = c.turns.last { $0.role == .assistant }?.content
        case .preference(let p):
            conversation = p.prompt
            reference = p.chosen
        case .text:
            return nil
        }
        guard let user = conversation.turns.last(where: { $0.role == .user })?.content else { return nil }
        return (conversation, user, reference)
    }
}
