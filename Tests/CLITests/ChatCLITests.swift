import Foundation
import TestSupport
import XCTest

/// `rlhf chat` as a person uses it: `--prompt` from a script, and the interactive mode through a
/// pseudo-terminal made by util-linux `script` (typed lines, streamed answers, /clear, /exit,
/// Ctrl-D), on a tiny random model with a real tokenizer and the deepspeed-chat template.
final class ChatCLITests: XCTestCase {
    /// A tiny model directory, made once for the class: tokenizer, random weights, chat template.
    private static let model: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chat-cli-\(UUID().uuidString)").path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let demo = "\(CLIProcess.repoRoot)/data/demo"
            let tok = try CLIProcess.run(["tokenizer", "train", "--input", "\(demo)/eval.jsonl", "--vocab-size", "400", "--out", "\(dir)/model"])
            precondition(tok.status == 0, "tokenizer train: \(tok.stderr)")
            let config: [String: Any] = [
                "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 32,
                "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
                "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
            ]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
            let initialized = try CLIProcess.run(["init", "--config", "\(dir)/config.json", "--out", "\(dir)/model", "--seed", "1", "--std", "0.2"])
            precondition(initialized.status == 0, "init: \(initialized.stderr)")
            try #"{"name": "deepspeed-chat"}"#.write(toFile: "\(dir)/model/chat_template.json", atomically: true, encoding: .utf8)
        } catch {
            fatalError("could not make the chat test model: \(error)")
        }
        return "\(dir)/model"
    }()

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: model).deletingLastPathComponent().path)
    }

    private func answer(_ extra: [String]) throws -> String {
        let r = try CLIProcess.run(["chat", "--model", Self.model, "--prompt", "What is 2 plus 3?", "--max-new-tokens", "8"] + extra)
        r.assertSucceeded("chat --prompt")
        return r.stdout
    }

    /// One answer on stdout and status 0; seeded sampling repeats; a bad directory is named.
    func testPrompt_answersOnceAndIsSeeded() throws {
        let greedy = try answer([])
        XCTAssertTrue(greedy.hasSuffix("\n") && !greedy.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "an answer: \(greedy.debugDescription)")
        XCTAssertFalse(greedy.contains("you> "), "no prompt marker in --prompt mode")
        XCTAssertEqual(try answer([]), greedy, "greedy repeats")
        let sampled = try answer(["--temperature", "1", "--seed", "7"])
        XCTAssertEqual(try answer(["--temperature", "1", "--seed", "7"]), sampled, "same seed, same answer")
        XCTAssertNotEqual(try answer(["--temperature", "1", "--seed", "8"]), sampled, "the seed matters")

        try CLIProcess.run(["chat", "--model", "/nonexistent/model", "--prompt", "hi"]).assertRefused("/nonexistent/model", "no such model directory")
        let noTokenizer = FileManager.default.temporaryDirectory.appendingPathComponent("chat-notok-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: noTokenizer) }
        try FileManager.default.createDirectory(atPath: noTokenizer, withIntermediateDirectories: true)
        try CLIProcess.run(["chat", "--model", noTokenizer, "--prompt", "hi"]).assertRefused(noTokenizer, "not a model directory")
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: "\(Self.model)/\(file)", toPath: "\(noTokenizer)/\(file)")
        }
        try CLIProcess.run(["chat", "--model", noTokenizer, "--prompt", "hi"]).assertRefused(noTokenizer, "no tokenizer.model or tokenizer.json")
        try CLIProcess.run(["chat", "--model", Self.model, "--prompt", "hi", "--max-new-tokens", "128"]).assertRefused("no room for a prompt")
        let long = Array(repeating: "What is 2 plus 3?", count: 20).joined(separator: " ")
        try CLIProcess.run(["chat", "--model", Self.model, "--prompt", long, "--max-new-tokens", "100"])
            .assertRefused("--prompt: the message makes a prompt of", "at most 28 fit", "--max-new-tokens 100")
    }

    /// Two turns, an unknown command, /clear, a third turn, /help, /exit, typed one line at a
    /// time after the marker appears: the second prompt holds the first exchange, the third
    /// (after /clear) holds nothing before it, and the first answer is `--prompt`'s.
    func testInteractive_throughAPseudoTerminal() throws {
        let terminal = try PseudoTerminal(Self.chatCommand())
        defer { terminal.stop() }
        try terminal.waitFor(markers: 1)
        for (i, line) in ["What is 2 plus 3?", "and 4 plus 4?", "/bogus", "/clear", "What is 7 minus 2?", "/help"].enumerated() {
            try terminal.type(line)
            try terminal.waitFor(markers: i + 2)
        }
        try terminal.type("/exit")
        let status = try terminal.waitForExit()
        let screen = terminal.screen.replacingOccurrences(of: "\r\n", with: "\n")
        XCTAssertEqual(status, 0, screen)

        let turns = Self.turns(screen)
        let prompts = turns.map(\.prompt), answers = turns.map(\.answer)
        XCTAssertEqual(prompts.count, 3, screen)
        XCTAssertEqual(answers.count, 3, screen)
        guard prompts.count == 3, answers.count == 3 else { return }
        XCTAssertEqual(prompts[0], "<s> Human: What is 2 plus 3? Assistant:")
        XCTAssertTrue(prompts[1].hasPrefix("<s> Human: What is 2 plus 3? Assistant: "), "the second prompt holds the first turn: \(prompts[1])")
        XCTAssertTrue(prompts[1].hasSuffix("<|endoftext|> Human: and 4 plus 4? Assistant:"), prompts[1])
        XCTAssertEqual(prompts[2], "<s> Human: What is 7 minus 2? Assistant:", "/clear dropped the history")
        let first = answers[0].replacingOccurrences(of: " [cut at --max-new-tokens 8]", with: "")
        XCTAssertFalse(first.isEmpty)
        XCTAssertTrue(prompts[1].contains("Assistant: \(first.trimmingCharacters(in: .whitespaces))<|endoftext|>"),
                      "the streamed answer is what the history holds: \(first) / \(prompts[1])")
        XCTAssertEqual(first + "\n", try answer([]), "the first answer is the one --prompt gives")
        XCTAssertTrue(screen.contains("unknown command /bogus"), screen)
        XCTAssertTrue(screen.contains("(history cleared)"), screen)
        XCTAssertTrue(screen.contains("/clear   forget"), "/help lists the commands: \(screen)")
    }

    /// Ctrl-C while an answer is written stops that answer (kept, marked) and the chat goes on
    /// with its history; Ctrl-C at the prompt says how to quit instead of quitting. A wider
    /// random model with room for 900 tokens writes for seconds, so the interrupt lands mid-answer.
    func testInteractive_ctrlCStopsTheAnswerNotTheChat() throws {
        let dir = URL(fileURLWithPath: Self.model).deletingLastPathComponent().appendingPathComponent("wide").path
        if !FileManager.default.fileExists(atPath: "\(dir)/model.safetensors") {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(Self.model)/tokenizer.model", toPath: "\(dir)/tokenizer.model")
            let config: [String: Any] = [
                "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 400, "hidden_size": 256,
                "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4,
                "max_position_embeddings": 1024, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
            ]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: "\(dir)/wide.json"))
            let made = try CLIProcess.run(["init", "--config", "\(dir)/wide.json", "--out", dir, "--seed", "2", "--std", "0.2"])
            made.assertSucceeded("init")
        }
        let terminal = try PseudoTerminal("'\(CLIProcess.executable)' chat --model '\(dir)' --max-new-tokens 900 --threads 1 --temperature 1 --template deepspeed-chat")
        defer { terminal.stop() }
        try terminal.waitFor(markers: 1)
        try terminal.type("Tell me everything")
        try waitUntil("the answer to start: \(terminal.screen.suffix(400))", timeout: .seconds(30)) {
            terminal.screen.contains("model> ")
        }
        try terminal.type("\u{03}", newline: false)
        try terminal.waitFor(markers: 2)
        XCTAssertTrue(terminal.screen.contains(" [stopped]"), "the answer is stopped, not cut at 900 tokens: \(terminal.screen.suffix(400))")
        try terminal.type("\u{03}", newline: false)
        try terminal.waitFor(markers: 3)
        XCTAssertTrue(terminal.screen.contains("(/exit or Ctrl-D to quit)"), terminal.screen.suffix(400).description)
        try terminal.type("/exit")
        XCTAssertEqual(try terminal.waitForExit(), 0, "the chat survived both Ctrl-C: \(terminal.screen.suffix(400))")
    }

    /// Ctrl-D on an empty line ends the chat like /exit.
    func testInteractive_endOfInputQuits() throws {
        let terminal = try PseudoTerminal(Self.chatCommand())
        defer { terminal.stop() }
        try terminal.waitFor(markers: 1)
        try terminal.type("\u{04}", newline: false)
        XCTAssertEqual(try terminal.waitForExit(), 0, terminal.screen)
    }

    private static func chatCommand(maxNewTokens: Int = 8) -> String {
        "'\(CLIProcess.executable)' chat --model '\(model)' --max-new-tokens \(maxNewTokens) --show-prompt"
    }

    /// The prompt and the answer of each turn on the screen. Each turn shows
    /// "[prompt, N tokens] PROMPT\nmodel> ANSWER\nyou> "; a random model's answer may hold any
    /// character, newlines included, so the markers delimit it.
    private static func turns(_ screen: String) -> [(prompt: String, answer: String)] {
        screen.components(separatedBy: "[prompt, ").dropFirst().compactMap { turn in
            let afterCount = turn.drop { $0 != "]" }.dropFirst(2)
            guard let split = afterCount.range(of: "\nmodel> "), let end = afterCount.range(of: "\nyou> ") else { return nil }
            return (String(afterCount[..<split.lowerBound]), String(afterCount[split.upperBound..<end.lowerBound]))
        }
    }

    /// With room for 28 prompt tokens (128 less 100 for the answer), the second turn no longer
    /// fits with the first exchange: it is dropped, and the user is told once, not again when the
    /// third turn drops the second.
    func testInteractive_dropsTheOldestTurnsAndTellsOnce() throws {
        let terminal = try PseudoTerminal(Self.chatCommand(maxNewTokens: 100))
        defer { terminal.stop() }
        try terminal.waitFor(markers: 1)
        for (i, line) in ["What is 2 plus 3?", "and 4 plus 4?", "and 5 plus 5?"].enumerated() {
            try terminal.type(line)
            try terminal.waitFor(markers: i + 2)
        }
        try terminal.type("/exit")
        XCTAssertEqual(try terminal.waitForExit(), 0, terminal.screen)
        let screen = terminal.screen.replacingOccurrences(of: "\r\n", with: "\n")
        XCTAssertEqual(screen.components(separatedBy: "note: the conversation no longer fits in 28 prompt tokens").count, 2, screen)
        let prompts = Self.turns(screen).map(\.prompt)
        XCTAssertEqual(prompts.first, "<s> Human: What is 2 plus 3? Assistant:", screen)
        XCTAssertEqual(prompts.dropFirst().first, "<s> Human: and 4 plus 4? Assistant:", "the first exchange is gone: \(screen)")
        XCTAssertEqual(prompts.count, 3, screen)
    }
}

/// A command run under util-linux `script`, which gives it a pseudo-terminal: what a person
/// types is written to `script`'s input, and the terminal's output (echo included) is read back.
private final class PseudoTerminal: @unchecked Sendable {
    // @unchecked Sendable: `output` is only touched under `lock`; the rest is set in init.
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private var output = Data()
    private var ended = false

    init(_ command: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("util-linux `script` is not installed (it comes with Debian's base system)")
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        // -q no banner, -f flush at once, -e the command's exit status, /dev/null no typescript.
        // `exec`: `script` runs the command through $SHELL -c, and dash (Debian's /bin/sh, used
        // when SHELL is unset as under CI) stays as its parent; Ctrl-C then kills that shell
        // and `script` reports 130 although the chat itself went on.
        process.arguments = ["-qfec", "exec \(command)", "/dev/null"]
        let out = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = out
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            // End of output: stop watching (Foundation would call again and again at EOF).
            if data.isEmpty { handle.readabilityHandler = nil }
            guard let self else { return }
            self.lock.lock()
            if data.isEmpty { self.ended = true }
            self.output.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    /// Everything the terminal showed so far.
    var screen: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: output, as: UTF8.self)
    }

    /// Types `text` (and Enter).
    func type(_ text: String, newline: Bool = true) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((text + (newline ? "\n" : "")).utf8))
    }

    /// Waits until the marker has been shown `markers` times (the chat waits for a line).
    func waitFor(markers: Int, timeout: Duration = .seconds(30)) throws {
        try waitUntil("marker \(markers); the terminal shows: \(screen)", timeout: timeout) {
            if screen.components(separatedBy: "you> ").count - 1 >= markers { return true }
            guard process.isRunning else { throw CLIFailure(description: "the chat exited before marker \(markers): \(screen)") }
            return false
        }
    }

    /// Waits for the chat to exit and for the end of its output, and returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) throws -> Int32 {
        try waitUntil("the chat to exit and its output to end; the terminal shows: \(screen)", timeout: timeout) {
            lock.lock()
            defer { lock.unlock() }
            return ended && !process.isRunning
        }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning { process.terminate() }
        try? input.fileHandleForWriting.close()
    }
}
