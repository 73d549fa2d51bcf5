/// Why a role refused a request or could not go on, with what to do about it. Travels back to
/// the caller as an error reply, so the run stops naming the role and the reason.
public struct RoleError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, Codable {
        /// A request whose content is wrong (token ids, shapes, an unknown kind).
        case badInput = "bad_input"
        /// A model, tokenizer or file that cannot be loaded.
        case loading
        /// A role did not answer in time, or went away.
        case unavailable
        /// The external reward program failed.
        case rewardProgram = "reward_program"
        /// A checkpoint that is missing or does not match the run.
        case checkpoint
        /// Anything else that went wrong inside the role.
        case failed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Compares the codes only.
    public static func == (a: RoleError, b: RoleError) -> Bool { a.code == b.code }
}
