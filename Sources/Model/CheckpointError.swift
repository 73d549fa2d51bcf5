/// Why a checkpoint file could not be read or written: which file, which tensor or field, and what
/// is wrong with it, in words a user can act on without opening the source.
///
/// Equality compares the ``Code`` only, so tests and callers can match on the kind of failure
/// without depending on the wording of the message.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public enum Code: String, Sendable {
        /// A file or directory that must exist does not.
        case notFound
        /// The operating system refused to read or write (permissions, disk full, ...).
        case ioFailure
        /// The bytes are not in the expected format (truncated file, header length, bad JSON).
        case malformed
        /// A field or tensor has the wrong JSON type or an impossible value.
        case invalidValue
        /// A required field or tensor is absent.
        case missing
        /// Well-formed, but something this engine does not implement (dtype, activation, rope type).
        case unsupported
        /// Well-formed, but larger than any real model or than this machine's memory (a config
        /// whose sizes would make the allocation fail or the kernel kill the process).
        case tooLarge
    }

    /// The kind of failure.
    public var code: Code
    /// The file (or directory) concerned; empty when the error is about an in-memory value.
    public var path: String
    /// The tensor name or JSON field concerned (dotted for nested fields, e.g. `rope_scaling.rope_type`).
    public var field: String?
    /// What is wrong, in one sentence.
    public var message: String
    /// Where in our source the error was raised, to find the check that fired.
    public var sourceLocation: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - path: the file or directory concerned.
    ///   - field: the tensor or JSON field concerned, if any.
    ///   - message: what is wrong.
    public init(
        _ code: Code, path: String, field: String? = nil, _ message: String,
        fileID: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.path = path
        self.field = field
        self.message = message
        self.sourceLocation = "\(fileID):\(line)"
    }

    /// `path: 'field': message`, leaving out the parts that are absent.
    public var description: String {
        var parts: [String] = []
        if !path.isEmpty { parts.append(path) }
        if let field { parts.append("'\(field)'") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    /// Compares the codes only (see the type's documentation).
    public static func == (lhs: CheckpointError, rhs: CheckpointError) -> Bool {
        lhs.code == rhs.code
    }

    /// The same error reported against another file, for checks that run before the file is known.
    func at(path newPath: String) -> CheckpointError {
        var copy = self
        copy.path = newPath
        return copy
    }
}
