import Datasets
import Foundation
import Tensor
import Tokenization

/// The prompts of a run, encoded once with the actor's tokenizer and chat template, served in
/// a seeded order: each pass over the file a fresh shuffle, so iteration i's prompts are the
/// same on every run (and after a resume) whatever the placement of the roles.
public struct PromptSource: Sendable {
    /// One prompt: its ids (template applied, ready for generation) and its user text (what a
    /// rule checker or an external reward program reads).
    public struct Prompt: Sendable, Equatable {
        public var ids: [Int32]
        public var text: String
    }

    public let prompts: [Prompt]
    public let file: String
    let seed: UInt64

    /// Reads `file` (any format `rlhf data inspect` detects that has prompts), applies the chat
    /// template saved with `modelDirectory` and encodes with its tokenizer.
    /// - Parameters:
    ///   - maxPromptLength: longer prompts are cut from the left (their end, where the answer
    ///     starts, is kept), as DeepSpeed-Chat cuts `max_prompt_seq_len`.
    ///   - limit: the first `limit` prompts only (evaluation).
    ///   - userTemplate: `data.prompt_template`: frames the last user message (`{prompt}` is
    ///     where it goes) before the chat template renders the conversation; the rule checker
    ///     and reward programs still read the user's own text.
    /// - Throws: when the file cannot be read or holds no prompt.
    public init(file: String, modelDirectory: String, maxPromptLength: Int, seed: UInt64, limit: Int? = nil,
                userTemplate: String? = nil) throws {
        let records = try DatasetReader().read(file).records
        let template = try ChatFormat.resolve(name: nil, modelDirectory: modelDirectory)
        let tokenizer = try TokenizerFiles.load(modelDirectory)
        var out: [Prompt] = []
        for record in records {
            guard let p = record.promptAndReference else { continue }
            var conversation = p.conversation
            if let userTemplate, let last = conversation.turns.lastIndex(where: { $0.role == .user }) {
                conversation.turns[last].content = userTemplate.replacingOccurrences(of: "{prompt}", with: conversation.turns[last].content)
            }
            let segments: [ChatSegment]
            do {
                segments = try template.promptSegments(conversation)
            } catch let error as ChatTemplateError {
                throw RoleError(.badInput, "\(record.source.file):\(record.source.line): the chat template cannot render this prompt: \(error)")
            }
            let ids = try tokenizer.encode(segments).ids.suffix(maxPromptLength)
            out.append(Prompt(ids: ids.map { Int32($0) }, text: p.user))
            if let limit, out.count >= limit { break }
        }
        guard !out.isEmpty else {
            throw RoleError(.badInput, "\(file): no record has a prompt (expected a \"prompt\", \"messages\" or \"conversations\" field)")
        }
        prompts = out
        self.file = file
        self.seed = seed
    }

    /// The `count` prompts of iteration `iteration`: positions `iteration*count ..<` of an endless
    /// stream made of seeded shuffles of the file, one per pass.
    public func batch(iteration: Int, count: Int) -> [Prompt] {
        let n = prompts.count
        var out: [Prompt] = []
        var position = iteration * count
        var cachedEpoch = -1
        var order: [Int] = []
        while out.count < count {
            let epoch = position / n
            if epoch != cachedEpoch {
                order = Array(0..<n)
                var rng = SplitMix64(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
                for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                cachedEpoch = epoch
            }
            out.append(prompts[order[position % n]])
            position += 1
        }
        return out
    }
}
