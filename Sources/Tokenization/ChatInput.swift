import Foundation

/// One line a user types into `rlhf chat`: a message for the model, or a command.
///
/// Commands start with "/"; a message that itself starts with "/" is typed with "//" (sent
/// with one "/"). Surrounding whitespace is ignored, and case in command names.
public enum ChatInput: Sendable, Equatable {
    /// Text for the model.
    case message(String)
    /// `/clear`: empty the history.
    case clear
    /// `/exit` or `/quit` (and end of input): leave.
    case exit
    /// `/help`: list the commands.
    case help
    /// A "/" word that is no command (kept as typed, for the error).
    case unknownCommand(String)
    /// A blank line: nothing to do.
    case empty

    /// - Parameter line: a line as read, with or without its newline.
    public init(line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            self = .empty
        } else if trimmed.hasPrefix("//") {
            self = .message(String(trimmed.dropFirst()))
        } else if trimmed.hasPrefix("/") {
            switch trimmed.lowercased() {
            case "/clear": self = .clear
            case "/exit", "/quit": self = .exit
            case "/help", "/?": self = .help
            default: self = .unknownCommand(trimmed)
            }
        } else {
            self = .message(trimmed)
        }
    }

    /// What `/help` prints.
    public static let commandList = """
        /clear   forget the conversation so far (the system prompt stays)
        /exit    leave (also /quit, or Ctrl-D)
        /help    this list
        //text   send a message that starts with "/"
        """
}
