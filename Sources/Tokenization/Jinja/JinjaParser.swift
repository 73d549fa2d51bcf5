/// Builds the syntax tree from the lexer's pieces, following jinja2's grammar and operator
/// precedence (lowest first): `a if c else b`, `or`, `and`, `not`, comparisons and `in`,
/// `+ -`, `~`, `* / // %`, `**`, unary `- +`, then filters `|` and tests `is` on a primary
/// with its attributes, subscripts and calls.
///
/// Filters and tests are checked against the ones implemented here while parsing, as jinja2
/// checks them when it compiles, so a template that needs one we lack is refused at load.
struct JinjaParser {
    private let pieces: [JinjaLexer.Piece]
    private var index = 0
    private var tokens: [JinjaToken] = []
    private var position = 0
    private var depth = 0
    private let maxDepth: Int

    static func parse(_ source: String, limits: JinjaLimits) throws -> [JinjaNode] {
        var parser = JinjaParser(pieces: try JinjaLexer.pieces(of: source), maxDepth: limits.maxDepth)
        let (nodes, _) = try parser.nodes(until: [], opener: nil)
        return nodes
    }

    private init(pieces: [JinjaLexer.Piece], maxDepth: Int) {
        self.pieces = pieces
        self.maxDepth = maxDepth
    }

    // MARK: - Statements

    private static let unsupportedTags: Set<String> = [
        "include", "extends", "import", "from", "block", "call", "filter", "with", "autoescape", "do",
    ]

    /// Parses nodes up to one of the tags `ends` (returned with the cursor after its name).
    private mutating func nodes(until ends: Set<String>, opener: (tag: String, line: Int)?) throws -> ([JinjaNode], String) {
        depth += 1
        defer { depth -= 1 }
        if depth > maxDepth { throw JinjaError(.limit, line: opener?.line ?? 1, "blocks nested more than \(maxDepth) deep") }
        var nodes: [JinjaNode] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case .text(let text, let line):
                nodes.append(JinjaNode(line: line, kind: .text(text)))
            case .output(let tagTokens, let line):
                start(tagTokens)
                if current.kind == .end { throw JinjaError(.syntax, line: line, "expected an expression in '{{ }}'") }
                let expr = try expression()
                try expectEnd()
                nodes.append(JinjaNode(line: line, kind: .output(expr)))
            case .statement(let tagTokens, let line):
                start(tagTokens)
                guard current.kind == .name else { throw JinjaError(.syntax, line: line, "expected a tag name after '{%'") }
                let name = advance().text
                if ends.contains(name) { return (nodes, name) }
                nodes.append(try statement(name, line: line, enclosing: opener))
            }
        }
        if let opener {
            let expected = ends.sorted().map { "'{% \($0) %}'" }.joined(separator: " or ")
            throw JinjaError(.syntax, line: opener.line, "unclosed '{% \(opener.tag) %}': expected \(expected) before the end of the template")
        }
        return (nodes, "")
    }

    private mutating func statement(_ name: String, line: Int, enclosing: (tag: String, line: Int)?) throws -> JinjaNode {
        switch name {
        case "if":
            var branches: [(condition: JinjaExpr, body: [JinjaNode])] = []
            var condition = try expression()
            var otherwise: [JinjaNode] = []
            while true {
                try expectEnd()
                let (body, end) = try nodes(until: ["elif", "else", "endif"], opener: ("if", line))
                branches.append((condition, body))
                if end == "elif" {
                    condition = try expression()
                    continue
                }
                if end == "else" {
                    try expectEnd()
                    (otherwise, _) = try nodes(until: ["endif"], opener: ("if", line))
                }
                try expectEnd()
                break
            }
            return JinjaNode(line: line, kind: .conditional(branches: branches, otherwise: otherwise))
        case "for":
            var targets = [try expectName()]
            while accept(op: ",") { targets.append(try expectName()) }
            guard accept(name: "in") else { throw JinjaError(.syntax, line: current.line, "expected 'in' in the for loop") }
            let iterable = try tupleExpression(conditional: false)
            let filter = accept(name: "if") ? try expression() : nil
            if current.kind == .name, current.text == "recursive" {
                throw JinjaError(.unsupported, line: line, "recursive for loops are not supported")
            }
            try expectEnd()
            let (body, end) = try nodes(until: ["endfor", "else"], opener: ("for", line))
            var otherwise: [JinjaNode] = []
            if end == "else" {
                try expectEnd()
                (otherwise, _) = try nodes(until: ["endfor"], opener: ("for", line))
            }
            try expectEnd()
            return JinjaNode(line: line, kind: .loop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise))
        case "set":
            let first = try expectName()
            var target = JinjaNode.Target.names([first])
            if accept(op: ".") {
                target = .attribute(first, try expectName())
            } else {
                var names = [first]
                while accept(op: ",") { names.append(try expectName()) }
                target = .names(names)
            }
            if accept(op: "=") {
                let value = try tupleExpression(conditional: true)
                try expectEnd()
                return JinjaNode(line: line, kind: .set(target, value))
            }
            try expectEnd()
            let (body, _) = try nodes(until: ["endset"], opener: ("set", line))
            try expectEnd()
            return JinjaNode(line: line, kind: .setBlock(target, body: body))
        case "break", "continue":
            try expectEnd()
            return JinjaNode(line: line, kind: name == "break" ? .breakLoop : .continueLoop)
        case "macro":
            let macroName = try expectName()
            try expect(op: "(")
            var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
            while !accept(op: ")") {
                if !parameters.isEmpty { try expect(op: ",") }
                if accept(op: ")") { break }
                let parameter = try expectName()
                parameters.append((parameter, accept(op: "=") ? try expression() : nil))
            }
            try expectEnd()
            let (body, _) = try nodes(until: ["endmacro"], opener: ("macro", line))
            try expectEnd()
            return JinjaNode(line: line, kind: .macro(name: macroName, parameters: parameters, body: body))
        case "generation":
            try expectEnd()
            let (body, _) = try nodes(until: ["endgeneration"], opener: ("generation", line))
            try expectEnd()
            return JinjaNode(line: line, kind: .generation(body))
        case _ where JinjaParser.unsupportedTags.contains(name):
            throw JinjaError(.unsupported, line: line, "the '{% \(name) %}' tag is not supported")
        default:
            if let enclosing {
                throw JinjaError(.syntax, line: line, "unexpected '{% \(name) %}' inside '{% \(enclosing.tag) %}' opened at line \(enclosing.line)")
            }
            throw JinjaError(.syntax, line: line, "unknown tag '\(name)'")
        }
    }

    // MARK: - Expressions

    /// An expression; with commas, a tuple (`set a = 1, 2`, `for x in a, b`).
    private mutating func tupleExpression(conditional: Bool) throws -> JinjaExpr {
        let line = current.line
        let first = conditional ? try expression() : try or()
        guard current.kind == .op, current.text == "," else { return first }
        var items = [first]
        while accept(op: ",") {
            if current.kind == .end || (current.kind == .name && current.text == "if") { break }
            items.append(conditional ? try expression() : try or())
        }
        return JinjaExpr(line: line, kind: .tuple(items))
    }

    private mutating func expression() throws -> JinjaExpr {
        try nest()
        defer { depth -= 1 }
        var expr = try or()
        while current.kind == .name, current.text == "if" {
            advance()
            let condition = try or()
            let otherwise = accept(name: "else") ? try expression() : nil
            expr = JinjaExpr(line: expr.line, kind: .conditional(expr, condition: condition, otherwise: otherwise))
        }
        return expr
    }

    private mutating func or() throws -> JinjaExpr {
        var left = try and()
        while accept(name: "or") { left = JinjaExpr(line: left.line, kind: .binary(.or, left, try and())) }
        return left
    }

    private mutating func and() throws -> JinjaExpr {
        var left = try not()
        while accept(name: "and") { left = JinjaExpr(line: left.line, kind: .binary(.and, left, try not())) }
        return left
    }

    private mutating func not() throws -> JinjaExpr {
        let line = current.line
        if accept(name: "not") {
            try nest()
            defer { depth -= 1 }
            return JinjaExpr(line: line, kind: .unary(.not, try not()))
        }
        return try comparison()
    }

    private static let comparisons: [String: JinjaExpr.BinaryOperator] = [
        "==": .equal, "!=": .notEqual, "<": .less, "<=": .lessEqual, ">": .greater, ">=": .greaterEqual,
    ]

    /// Chained comparisons (`a < b < c`) mean `a < b and b < c`, as in Python.
    private mutating func comparison() throws -> JinjaExpr {
        let first = try additive()
        var operands = [first]
        var operators: [JinjaExpr.BinaryOperator] = []
        while true {
            if current.kind == .op, let op = JinjaParser.comparisons[current.text] {
                advance()
                operators.append(op)
            } else if accept(name: "in") {
                operators.append(.contains)
            } else if current.kind == .name, current.text == "not", peek.kind == .name, peek.text == "in" {
                advance()
                advance()
                operators.append(.notContains)
            } else {
                break
            }
            operands.append(try additive())
        }
        guard !operators.isEmpty else { return first }
        var result: JinjaExpr?
        for (i, op) in operators.enumerated() {
            let pair = JinjaExpr(line: operands[i].line, kind: .binary(op, operands[i], operands[i + 1]))
            result = result.map { JinjaExpr(line: first.line, kind: .binary(.and, $0, pair)) } ?? pair
        }
        return result!
    }

    private mutating func binaryLevel(_ ops: [String], next: (inout JinjaParser) throws -> JinjaExpr) throws -> JinjaExpr {
        var left = try next(&self)
        while current.kind == .op, ops.contains(current.text) {
            let op = JinjaExpr.BinaryOperator(rawValue: advance().text)!
            left = JinjaExpr(line: left.line, kind: .binary(op, left, try next(&self)))
        }
        return left
    }

    private mutating func additive() throws -> JinjaExpr { try binaryLevel(["+", "-"]) { try $0.concatenation() } }
    private mutating func concatenation() throws -> JinjaExpr { try binaryLevel(["~"]) { try $0.multiplicative() } }
    private mutating func multiplicative() throws -> JinjaExpr { try binaryLevel(["*", "/", "//", "%"]) { try $0.power() } }
    private mutating func power() throws -> JinjaExpr { try binaryLevel(["**"]) { try $0.unary(withFilters: true) } }

    private mutating func unary(withFilters: Bool) throws -> JinjaExpr {
        try nest()
        defer { depth -= 1 }
        let line = current.line
        var expr: JinjaExpr
        if accept(op: "-") {
            expr = JinjaExpr(line: line, kind: .unary(.minus, try unary(withFilters: false)))
        } else if accept(op: "+") {
            expr = JinjaExpr(line: line, kind: .unary(.plus, try unary(withFilters: false)))
        } else {
            expr = try postfix(try primary())
        }
        return withFilters ? try filtersAndTests(expr) : expr
    }

    private mutating func primary() throws -> JinjaExpr {
        let token = advance()
        let line = token.line
        switch token.kind {
        case .name:
            switch token.text {
            case "true", "True": return JinjaExpr(line: line, kind: .literal(.bool(true)))
            case "false", "False": return JinjaExpr(line: line, kind: .literal(.bool(false)))
            case "none", "None": return JinjaExpr(line: line, kind: .literal(.none))
            default: return JinjaExpr(line: line, kind: .name(token.text))
            }
        case .string:
            var text = token.text
            while current.kind == .string { text += advance().text }  // adjacent literals join, as in Python
            return JinjaExpr(line: line, kind: .literal(.string(text)))
        case .integer:
            guard let value = Int(token.text) else { throw JinjaError(.syntax, line: line, "integer literal \(token.text) is too large") }
            return JinjaExpr(line: line, kind: .literal(.int(value)))
        case .float:
            return JinjaExpr(line: line, kind: .literal(.double(Double(token.text) ?? .nan)))
        case .op where token.text == "(":
            if accept(op: ")") { return JinjaExpr(line: line, kind: .tuple([])) }
            let first = try expression()
            if accept(op: ")") { return first }
            var items = [first]
            while accept(op: ",") {
                if current.kind == .op, current.text == ")" { break }
                items.append(try expression())
            }
            try expect(op: ")")
            return JinjaExpr(line: line, kind: .tuple(items))
        case .op where token.text == "[":
            var items: [JinjaExpr] = []
            while !accept(op: "]") {
                if !items.isEmpty { try expect(op: ",") }
                if accept(op: "]") { break }
                items.append(try expression())
            }
            return JinjaExpr(line: line, kind: .list(items))
        case .op where token.text == "{":
            var items: [(key: JinjaExpr, value: JinjaExpr)] = []
            while !accept(op: "}") {
                if !items.isEmpty { try expect(op: ",") }
                if accept(op: "}") { break }
                let key = try expression()
                try expect(op: ":")
                items.append((key, try expression()))
            }
            return JinjaExpr(line: line, kind: .dict(items))
        case .end:
            throw JinjaError(.syntax, line: line, "unexpected end of tag: expected an expression")
        default:
            throw JinjaError(.syntax, line: line, "unexpected '\(token.text)'")
        }
    }

    private mutating func postfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var expr = base
        while current.kind == .op {
            let line = current.line
            if accept(op: ".") {
                let token = advance()
                guard token.kind == .name || token.kind == .integer else {
                    throw JinjaError(.syntax, line: line, "expected an attribute name after '.'")
                }
                expr = token.kind == .integer
                    ? JinjaExpr(line: line, kind: .item(expr, JinjaExpr(line: line, kind: .literal(.int(Int(token.text) ?? 0)))))
                    : JinjaExpr(line: line, kind: .attribute(expr, token.text))
            } else if accept(op: "[") {
                expr = try subscriptExpression(expr, line: line)
            } else if current.text == "(" {
                expr = try call(expr)
            } else {
                break
            }
        }
        return expr
    }

    private mutating func subscriptExpression(_ base: JinjaExpr, line: Int) throws -> JinjaExpr {
        func isColon(_ t: JinjaToken) -> Bool { t.kind == .op && t.text == ":" }
        func isClose(_ t: JinjaToken) -> Bool { t.kind == .op && t.text == "]" }
        var start: JinjaExpr?
        if !isColon(current) { start = try expression() }
        if accept(op: "]") {
            guard let start else { throw JinjaError(.syntax, line: line, "empty subscript") }
            return JinjaExpr(line: line, kind: .item(base, start))
        }
        try expect(op: ":")
        let stop = isColon(current) || isClose(current) ? nil : try expression()
        var step: JinjaExpr?
        if accept(op: ":"), !isClose(current) { step = try expression() }
        try expect(op: "]")
        return JinjaExpr(line: line, kind: .slice(base, start: start, stop: stop, step: step))
    }

    private mutating func callArguments() throws -> JinjaExpr.Arguments {
        try expect(op: "(")
        var positional: [JinjaExpr] = []
        var keyword: [(name: String, value: JinjaExpr)] = []
        while !accept(op: ")") {
            if !positional.isEmpty || !keyword.isEmpty { try expect(op: ",") }
            if accept(op: ")") { break }
            if current.kind == .op, current.text == "*" || current.text == "**" {
                throw JinjaError(.unsupported, line: current.line, "'*' and '**' arguments are not supported")
            }
            if current.kind == .name, peek.kind == .op, peek.text == "=" {
                let name = advance().text
                advance()
                keyword.append((name, try expression()))
            } else {
                guard keyword.isEmpty else { throw JinjaError(.syntax, line: current.line, "positional argument after a keyword argument") }
                positional.append(try expression())
            }
        }
        return (positional, keyword)
    }

    private mutating func call(_ callee: JinjaExpr) throws -> JinjaExpr {
        let (positional, keyword) = try callArguments()
        return JinjaExpr(line: callee.line, kind: .call(callee, positional: positional, keyword: keyword))
    }

    private mutating func filtersAndTests(_ base: JinjaExpr) throws -> JinjaExpr {
        var expr = base
        while true {
            let line = current.line
            if accept(op: "|") {
                var name = try expectName()
                while accept(op: ".") { name += "." + (try expectName()) }
                guard JinjaFilters.names.contains(name) else {
                    throw JinjaError(.unsupported, line: line, "unknown filter '\(name)'")
                }
                let (positional, keyword) = current.kind == .op && current.text == "(" ? try callArguments() : ([], [])
                expr = JinjaExpr(line: line, kind: .filter(expr, name: name, positional: positional, keyword: keyword))
            } else if accept(name: "is") {
                let negated = accept(name: "not")
                var name = try expectName()
                while accept(op: ".") { name += "." + (try expectName()) }
                guard JinjaTests.names.contains(name) else {
                    throw JinjaError(.unsupported, line: line, "unknown test '\(name)'")
                }
                var arguments: [JinjaExpr] = []
                if current.kind == .op, current.text == "(" {
                    let (positional, keyword) = try callArguments()
                    guard keyword.isEmpty else { throw JinjaError(.unsupported, line: line, "keyword arguments to tests are not supported") }
                    arguments = positional
                } else if [.name, .string, .integer, .float].contains(current.kind) || (current.kind == .op && ["(", "[", "{"].contains(current.text)),
                          !(current.kind == .name && ["else", "or", "and", "is"].contains(current.text)) {
                    arguments = [try postfix(try primary())]
                }
                expr = JinjaExpr(line: line, kind: .test(expr, name: name, arguments: arguments, negated: negated))
            } else if current.kind == .op, current.text == "(" {
                expr = try call(expr)
            } else {
                return expr
            }
        }
    }

    // MARK: - Token cursor

    private mutating func start(_ tagTokens: [JinjaToken]) {
        tokens = tagTokens
        position = 0
    }

    private var current: JinjaToken { tokens[min(position, tokens.count - 1)] }
    private var peek: JinjaToken { tokens[min(position + 1, tokens.count - 1)] }

    @discardableResult
    private mutating func advance() -> JinjaToken {
        let token = current
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private mutating func accept(op: String) -> Bool {
        guard current.kind == .op, current.text == op else { return false }
        advance()
        return true
    }

    private mutating func accept(name: String) -> Bool {
        guard current.kind == .name, current.text == name else { return false }
        advance()
        return true
    }

    private mutating func expect(op: String) throws {
        guard accept(op: op) else { throw JinjaError(.syntax, line: current.line, "expected '\(op)', got \(describe(current))") }
    }

    private mutating func expectName() throws -> String {
        guard current.kind == .name else { throw JinjaError(.syntax, line: current.line, "expected a name, got \(describe(current))") }
        return advance().text
    }

    private mutating func expectEnd() throws {
        guard current.kind == .end else { throw JinjaError(.syntax, line: current.line, "expected the end of the tag, got \(describe(current))") }
    }

    private mutating func nest() throws {
        depth += 1
        if depth > maxDepth {
            throw JinjaError(.limit, line: current.line, "expression nested more than \(maxDepth) deep")
        }
    }

    private func describe(_ token: JinjaToken) -> String {
        switch token.kind {
        case .end: "the end of the tag"
        case .string: "a string"
        default: "'\(token.text)'"
        }
    }
}
