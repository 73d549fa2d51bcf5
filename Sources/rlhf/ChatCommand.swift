import ArgumentParser
import Foundation
import Model
import Tensor
import Tokenization

/// `rlhf chat`: a conversation with a model in the chat template it was trained with, the answer
/// printed as it is generated; `--prompt` for one answer. The history, its rendering and its
/// truncation are `ChatSession`'s (Tokenization); this file owns the model and the terminal.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with a model in its chat template, answers streamed as they are generated (/help inside); --prompt for one answer.",
        discussion: """
            Every turn renders the whole conversation with the model's chat template \
            (DIR/chat_template.json, or --template). When it no longer fits in \
            max_position_embeddings less --max-new-tokens, the oldest exchanges are dropped. \
            Answer n of a session is drawn with seed --seed + n: the same inputs and seed give \
            the same conversation. See Docs/chat.md.
            """)

    @Option(help: "Model directory (config.json, model.safetensors, tokenizer.model).") var model: String
    @Option(help: "Answer this one message, print the answer and exit (no history, no prompt marker).") var prompt: String?
    @Option(name: .customLong("template"), help: "Chat template; default: the one saved with the model.") var template: String?
    @Option(help: "System prompt (kept across /clear).") var system: String?
    @Option(help: "Most tokens per answer.") var maxNewTokens = 128
    @Option(help: "Sampling temperature; 0 picks the most likely token each step (greedy).") var temperature: Float = 0
    @Option(help: "Sample from the k most likely tokens only (0: all).") var topK = 0
    @Option(help: "Sample from the smallest set of tokens with probability >= p (1: all).") var topP: Float = 1
    @Option(help: "Seed for sampling; answer n of the session uses seed + n.") var seed: UInt64 = 0
    @Option(help: "Compute threads (default: RLHF_THREADS, else OPENBLAS_NUM_THREADS, else the cores).") var threads: Int?
    @Flag(help: "Print each rendered prompt (template applied, with the history) to stderr before its answer.") var showPrompt = false

    func validate() throws {
        if !(temperature >= 0) { throw ValidationError("--temperature must be >= 0 (0: greedy)") }
        if topK < 0 { throw ValidationError("--top-k must be >= 0") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be >= 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be >= 1") }
        if let prompt, prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--prompt is empty") }
    }

    func run() throws {
        var chat = try Chat(command: self)
        if let prompt {
            let answer = try chat.answer(prompt.trimmingCharacters(in: .whitespacesAndNewlines), marker: "")
            if !answer.ended { Terminal.error("note: the answer was cut at --max-new-tokens \(maxNewTokens)\n") }
        } else {
            try chat.converse()
        }
    }
}

/// One chat: the model, its tokenizer and the session, and the loop that reads lines.
private struct Chat {
    let command: ChatCommand
    let generator: Generator
    let tokenizer: SentencePieceTokenizer
    let stops: Set<Int>
    var session: ChatSession<SentencePieceTokenizer>

    init(command: ChatCommand) throws {
        self.command = command
        let directory = command.model
        let model = try ModelLoading.load(directory: directory)
        guard let tokenizer = try ModelLoading.tokenizer(in: directory) else {
            throw UsageError("\(directory)/tokenizer.model: not found; chat needs the model's tokenizer (rlhf generate --ids works without one)")
        }
        guard tokenizer.pieceCount <= model.config.vocabSize else {
            throw UsageError("\(directory)/tokenizer.model has \(tokenizer.pieceCount) pieces but config.json's vocab_size is \(model.config.vocabSize): not this model's tokenizer")
        }
        let template: ChatTemplate
        if let name = command.template {
            template = try ChatTemplate(named: name)
        } else if let saved = try ChatTemplate.load(fromDirectory: directory) {
            template = saved
        } else {
            template = .default
            Terminal.error("note: \(directory) has no \(ChatTemplate.fileName); using the \(template.rawValue) template (--template picks another)\n")
        }
        let context = model.config.maxPositionEmbeddings
        guard command.maxNewTokens < context else {
            throw UsageError("--max-new-tokens \(command.maxNewTokens) leaves no room for a prompt in the model's context of \(context) tokens (max_position_embeddings)")
        }
        session = try ChatSession(template: template, tokenizer: tokenizer, system: command.system, promptBudget: context - command.maxNewTokens)
        self.tokenizer = tokenizer
        stops = Set(([tokenizer.eosID] + model.config.eosTokenIDs + (model.config.eosTokenID.map { [$0] } ?? [])).filter { $0 >= 0 })
        generator = Generator(model: model, threads: command.threads ?? ComputeContext.current.threads)
    }

    /// The interactive loop: a marker, a line, an answer streamed; until /exit or end of input.
    mutating func converse() throws {
        let sampling = command.temperature > 0 ? "temperature \(command.temperature), seed \(command.seed)" : "greedy"
        Terminal.out("rlhf chat with \(command.model): \(session.template.rawValue) template, prompts up to \(session.promptBudget) tokens, "
                     + "answers up to \(command.maxNewTokens), \(sampling). /help lists the commands.\n")
        while true {
            Terminal.out(Self.userMarker)
            guard let line = readLine(strippingNewline: true) else {
                Terminal.out("\n")
                return
            }
            switch ChatInput(line: line) {
            case .empty: continue
            case .exit: return
            case .help: Terminal.out(ChatInput.commandList + "\n")
            case .clear:
                session.clear()
                Terminal.out("(history cleared)\n")
            case .unknownCommand(let word):
                Terminal.out("unknown command \(word); /help lists the commands (start a message with // to send a /)\n")
            case .message(let text):
                do {
                    let answer = try answer(text, marker: Self.answerMarker)
                    if !answer.ended { Terminal.out(" [cut at --max-new-tokens \(command.maxNewTokens)]") }
                } catch let error as ChatSessionError {
                    Terminal.out("(not sent: \(error.description): \(budgetHint))")
                }
                Terminal.out("\n")
            }
        }
    }

    static let userMarker = "you> "
    static let answerMarker = "model> "

    private var budgetHint: String {
        "max_position_embeddings less --max-new-tokens \(command.maxNewTokens); shorten the message or lower --max-new-tokens"
    }

    /// Renders the prompt for `message`, streams the answer to stdout after `marker` and records
    /// the exchange.
    mutating func answer(_ message: String, marker: String) throws -> (text: String, ended: Bool) {
        let prompt: ChatSession<SentencePieceTokenizer>.Prompt
        do {
            prompt = try session.prompt(for: message)
        } catch let error as ChatSessionError where command.prompt != nil {
            throw UsageError("--prompt: \(error.description) (\(budgetHint))")
        }
        if let notice = prompt.notice { Terminal.error("note: \(notice)\n") }
        if command.showPrompt { Terminal.error("[prompt, \(prompt.ids.count) tokens] \(prompt.text)\n") }
        let sampling = SamplingParameters(temperature: command.temperature, topK: command.topK, topP: command.topP,
                                          seed: command.seed &+ UInt64(session.answersRecorded))
        var decoder = IncrementalDecoder(tokenizer: tokenizer, hidden: stops)
        Terminal.out(marker)
        var failure: (any Error)?
        let out = try generator.stream(prompt: prompt.ids, maxNewTokens: command.maxNewTokens, sampling: sampling, stopTokens: stops) { token in
            guard failure == nil else { return }
            do { Terminal.out(try decoder.append(token)) } catch { failure = error }
        }
        if let failure { throw failure }
        Terminal.out(try decoder.finish())
        if command.prompt != nil { Terminal.out("\n") }
        let text = try decoder.text()
        session.record(question: message, answer: text)
        return (text, out.ended[0])
    }
}

/// Unbuffered writes, so each piece of an answer shows as soon as it is decoded and stdout and
/// stderr keep their order on one terminal.
private enum Terminal {
    static func out(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
