/// The parsed form of a template: statements holding expressions, each with the template line
/// it came from (for error messages). Plain values, so a parsed template is `Sendable` and
/// rendered by any number of threads at once.
struct JinjaExpr: Sendable {
    var line: Int
    var kind: Kind

    enum Literal: Sendable {
        case none, bool(Bool), int(Int), double(Double), string(String)
    }

    enum BinaryOperator: String, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%"
        case power = "**", concat = "~"
        case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
        case contains = "in", notContains = "not in"
        case and, or
    }

    enum UnaryOperator: String, Sendable { case not, minus = "-", plus = "+" }

    /// Keyword arguments keep their order (Python passes them in order).
    typealias Arguments = (positional: [JinjaExpr], keyword: [(name: String, value: JinjaExpr)])

    indirect enum Kind: Sendable {
        case literal(Literal)
        case name(String)
        case list([JinjaExpr])
        case tuple([JinjaExpr])
        case dict([(key: JinjaExpr, value: JinjaExpr)])
        case attribute(JinjaExpr, String)
        case item(JinjaExpr, JinjaExpr)
        case slice(JinjaExpr, start: JinjaExpr?, stop: JinjaExpr?, step: JinjaExpr?)
        case call(JinjaExpr, positional: [JinjaExpr], keyword: [(name: String, value: JinjaExpr)])
        case filter(JinjaExpr, name: String, positional: [JinjaExpr], keyword: [(name: String, value: JinjaExpr)])
        case test(JinjaExpr, name: String, arguments: [JinjaExpr], negated: Bool)
        case unary(UnaryOperator, JinjaExpr)
        case binary(BinaryOperator, JinjaExpr, JinjaExpr)
        case conditional(JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
    }
}

/// A statement or a run of text.
struct JinjaNode: Sendable {
    var line: Int
    var kind: Kind

    /// What `{% set %}` assigns to.
    enum Target: Sendable {
        /// One name, or several unpacked from a sequence (`set a, b = pair`).
        case names([String])
        /// `ns.attr`: an attribute of a `namespace()` object.
        case attribute(String, String)
    }

    indirect enum Kind: Sendable {
        case text(String)
        case output(JinjaExpr)
        /// `if` / `elif` branches in order, then the `else` body.
        case conditional(branches: [(condition: JinjaExpr, body: [JinjaNode])], otherwise: [JinjaNode])
        case loop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode])
        case set(Target, JinjaExpr)
        /// `{% set x %}...{% endset %}`: the rendered body as a string.
        case setBlock(Target, body: [JinjaNode])
        case breakLoop, continueLoop
        case macro(name: String, parameters: [(name: String, defaultValue: JinjaExpr?)], body: [JinjaNode])
        /// transformers' `{% generation %}` block (it marks assistant text for masks); renders its body.
        case generation([JinjaNode])
    }
}
