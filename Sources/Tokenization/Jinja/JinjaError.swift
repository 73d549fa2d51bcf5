/// Why a Jinja template could not be parsed or rendered, with the template line it concerns.
///
/// `unsupported` marks a construct this interpreter does not implement (a filter, tag or method
/// jinja2 has but chat templates rarely use): the caller can then point at a built-in template
/// instead of showing a plain syntax error.
struct JinjaError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable, Equatable {
        /// The template text is malformed (jinja2 would refuse it too).
        case syntax
        /// Evaluation failed (undefined attribute, wrong type, ...).
        case runtime
        /// The template called `raise_exception(message)`.
        case raised
        /// Valid Jinja that this interpreter does not implement.
        case unsupported
        /// A bound on output size, loop iterations or nesting was exceeded.
        case limit
    }

    var kind: Kind
    var line: Int
    var message: String

    init(_ kind: Kind, line: Int, _ message: String) {
        self.kind = kind
        self.line = line
        self.message = message
    }

    var description: String { "line \(line): \(message)" }
}

/// Bounds that keep a hostile template from hanging or exhausting memory. jinja2's sandbox has
/// none of these; the numbers are far above what any chat template needs (a long conversation
/// renders a few hundred kilobytes in a few thousand loop iterations).
struct JinjaLimits: Sendable {
    /// Most characters (Unicode scalars) of output, and of any one string built while rendering.
    var maxOutput = 16 << 20
    /// Most loop iterations (every `for`, summed over the whole render).
    var maxIterations = 1_000_000
    /// Deepest nesting of expressions and statements, at parse and evaluation time.
    var maxDepth = 200
    /// Most elements `range()` may produce.
    var maxRange = 100_000
}
