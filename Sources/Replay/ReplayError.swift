/// Why the experience log, or a replay of it, could not do what was asked, naming the file and
/// place when there is one.
public struct ReplayError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// Bytes that are not a record (a bad checksum, a shape that does not fit), before the tail.
        case damaged
        /// A record or log written by a newer format.
        case unsupported
        /// No log, no such iteration or sample, no checkpoint to start a rerun from.
        case notFound = "not_found"
        /// A file could not be read or written.
        case io
        /// A rerun or diff found a difference (the message says where).
        case differs
        /// Another process holds the log for writing.
        case busy
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
