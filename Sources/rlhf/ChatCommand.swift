import ArgumentParser
import Foundation
import Model
import Synchronization
import Tensor
import Tokenization

/// Set by Ctrl-C in an interactive chat. A lock-free atomic store is all the signal handler does
/// (async-signal-safe); the chat reads it between decoding steps and after a read is interrupted.
private let chatInterrupted = Atomic<Bool>(false)

/// Ctrl-C in an interactive chat stops the answer being written (it is kept, marked cut) or, at
/// the prompt, clears the line, instead of ending the program and its history. `sigaction`
/// without SA_RESTART, so a read waiting at the prompt returns and the loop sees the flag.
private func catchInterrupts() {
    var action = sigaction()
    #if canImport(Glibc)
    action.__sigaction_handler.sa_handler = { _ in chatInterrupted.store(true, ordering: .relaxed) }
    #else
    action.__sigaction_u.__sa_handler = { _ in chatInterrupted.store(true, ordering: .relaxed) }
    #endif
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0
    sigaction(SIGINT, &action, nil)
}

/// `rlhf chat`: a conversation with a model in the chat template it was trained with, the answer
/// printed as it is generated; `--prompt` for one answer. The history, its rendering and its
/// truncation are `ChatSession`'s (Tokenization); this file owns the model and the terminal.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with a model in its chat template, answers streamed as they are generated (/help inside); --prompt for one answer.",
        discussion: """
            Every turn renders the whole conversation with the model's chat template \
            (DIR/chat_template.json, else the checkpoint's chat_template.jinja or tokenizer_config.json, or --template). When it no longer fits in \
            max_position_embeddings less --max-new-tokens, the oldest exchanges are dropped. \
            Answer n of a session is drawn with seed --seed + n: the same inputs and seed give \
            the same conversation. See Docs/chat.md.
            """)

    @Option(help: "Model directory (config.json, model.safetensors, tokenizer.model or tokenizer.json).") var model: String
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
    let tokenizer: any TextTokenizer
    let stops: Set<Int>
    var session: ChatSession
    var input = TerminalLines()

    init(command: ChatCommand) throws {
        self.command = command
        let directory = command.model
        let model = try ModelLoading.load(directory: directory)
        guard let tokenizer = try ModelLoading.tokenizer(in: directory) else {
            throw UsageError("\(directory): no tokenizer.model or tokenizer.json; chat needs the model's tokenizer (rlhf generate --ids works without one)")
        }
        guard tokenizer.pieceCount <= model.config.vocabSize else {
            throw UsageError("\(directory)'s tokenizer has \(tokenizer.pieceCount) pieces but config.json's vocab_size is \(model.config.vocabSize): not this model's tokenizer")
        }
        let template: ChatFormat
        if let name = command.template {
            template = .builtIn(try ChatTemplate(named: name))
        } else if let saved = try ChatFormat.load(fromDirectory: directory) {
            template = saved
        } else {
            template = .builtIn(.default)
            Terminal.error("note: \(directory) has no chat template (\(ChatTemplate.fileName), chat_template.jinja or tokenizer_config.json's); using \(template.name) (--template picks another)\n")
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
        Terminal.out("rlhf chat with \(command.model): \(session.template.name), prompts up to \(session.promptBudget) tokens, "
                     + "answers up to \(command.maxNewTokens), \(sampling). /help lists the commands; Ctrl-C stops an answer.\n")
        catchInterrupts()
        while true {
            Terminal.out(Self.userMarker)
            chatInterrupted.store(false, ordering: .relaxed)
            let line: String
            switch input.next() {
            case .text(let text): line = text
            case .interrupted:
                Terminal.out("\n(/exit or Ctrl-D to quit)\n")
                continue
            case .end:
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
                    if answer.interrupted {
                        Terminal.out(" [stopped]")
                    } else if !answer.ended {
                        Terminal.out(" [cut at --max-new-tokens \(command.maxNewTokens)]")
                    }
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
    mutating func answer(_ message: String, marker: String) throws -> (text: String, ended: Bool, interrupted: Bool) {
        let prompt: ChatSession.Prompt
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
        let pieceCount = tokenizer.pieceCount
        Terminal.out(marker)
        var failure: (any Error)?
        chatInterrupted.store(false, ordering: .relaxed)
        let out = try generator.stream(prompt: prompt.ids, maxNewTokens: command.maxNewTokens, sampling: sampling, stopTokens: stops,
                                       until: { chatInterrupted.load(ordering: .relaxed) }) { token in
            guard failure == nil else { return }
            // A model whose vocabulary is padded past its tokenizer's pieces can draw an id the
            // tokenizer has no piece for: it shows as SentencePiece's unknown piece, not a crash.
            let shown = token < pieceCount ? token : max(0, tokenizer.unkID)
            do { Terminal.out(try decoder.append(shown)) } catch { failure = error }
        }
        if let failure { throw failure }
        Terminal.out(try decoder.finish())
        if command.prompt != nil { Terminal.out("\n") }
        let text = try decoder.text()
        session.record(question: message, answer: text)
        return (text, out.ended[0], chatInterrupted.load(ordering: .relaxed) && !out.ended[0])
    }
}

/// Lines typed at the terminal, read from descriptor 0 directly rather than through stdio, so a
/// read that Ctrl-C interrupts says so (stdio would report it as the end of input).
private struct TerminalLines {
    enum Line {
        case text(String)
        case interrupted
        case end
    }

    private var buffer: [UInt8] = []

    mutating func next() -> Line {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[..<newline]
                buffer.removeSubrange(...newline)
                return .text(String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self))
            }
            let n = chunk.withUnsafeMutableBytes { Foundation.read(0, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer += chunk[..<n]
            } else if n < 0 && errno == EINTR {
                if chatInterrupted.load(ordering: .relaxed) {
                    buffer.removeAll()  // what was typed on the interrupted line is dropped, as a shell does
                    return .interrupted
                }
            } else if buffer.isEmpty {
                return .end
            } else {
                defer { buffer.removeAll() }
                return .text(String(decoding: buffer, as: UTF8.self))
            }
        }
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
