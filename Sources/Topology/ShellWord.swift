/// One word of a POSIX shell command line, as a script or a terminal reads it back: the word
/// itself when no character in it means anything to the shell, else the word in single quotes
/// (a quote inside it written `'\''`). For the commands `rlhf launch` prints and writes (Slurm
/// batch scripts, `--print-commands`), whose paths may hold spaces.
public enum ShellWord {
    /// - Parameter word: a program, argument, path or `NAME=value`.
    /// - Returns: `word`, quoted when the shell would otherwise split or expand it.
    public static func quote(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { plainCharacters.contains($0) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Characters no shell gives a meaning to anywhere in a word (`~` and `#` do at its start, `=`
    /// only before a command, where it is what `NAME=value` means).
    private static let plainCharacters: Set<Unicode.Scalar> = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%".unicodeScalars)

    /// Words joined into one command line, each quoted as needed.
    public static func commandLine(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}
