import Foundation

/// Renders a parsed template against its variables, one render per instance.
///
/// Scoping follows jinja2: each loop iteration has its own scope (a `set` inside a loop is gone
/// after the iteration, which is why templates use `namespace()`), `if` blocks have none.
/// Output, loop iterations and nesting depth are bounded by `JinjaLimits`.
final class JinjaRenderer {
    private let limits: JinjaLimits
    private let now: Date
    private var scopes: [[String: JinjaValue]]
    private var buffers: [String] = [""]
    private var outputSize = 0
    private var iterations = 0
    private var depth = 0

    private enum Flow { case normal, breakLoop, continueLoop }

    init(variables: [String: JinjaValue], limits: JinjaLimits, now: Date) {
        self.limits = limits
        self.now = now
        scopes = [variables, [:]]
    }

    func render(_ nodes: [JinjaNode]) throws -> String {
        _ = try execute(nodes)
        return buffers[0]
    }

    // MARK: - Statements

    private func execute(_ nodes: [JinjaNode]) throws -> Flow {
        for node in nodes {
            let flow = try execute(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ node: JinjaNode) throws -> Flow {
        switch node.kind {
        case .text(let text):
            try write(text, line: node.line)
        case .output(let expr):
            try write(try evaluate(expr).text, line: node.line)
        case .conditional(let branches, let otherwise):
            for branch in branches where try evaluate(branch.condition).isTruthy {
                return try execute(branch.body)
            }
            return try execute(otherwise)
        case .loop(let targets, let iterable, let filter, let body, let otherwise):
            return try loop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: node.line)
        case .set(let target, let expr):
            try assign(try evaluate(expr), to: target, line: node.line)
        case .setBlock(let target, let body):
            try assign(.string(try capture { _ = try execute(body) }), to: target, line: node.line)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        case .macro(let name, let parameters, let body):
            scopes[scopes.count - 1][name] = macro(name: name, parameters: parameters, body: body)
        case .generation(let body):
            return try execute(body)
        }
        return .normal
    }

    private func write(_ text: String, line: Int) throws {
        outputSize += text.unicodeScalars.count
        if outputSize > limits.maxOutput {
            throw JinjaError(.limit, line: line, "the rendering exceeds \(limits.maxOutput) characters")
        }
        buffers[buffers.count - 1] += text
    }

    private func capture(_ body: () throws -> Void) throws -> String {
        buffers.append("")
        defer { buffers.removeLast() }
        try body()
        return buffers[buffers.count - 1]
    }

    private func loop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode],
                      otherwise: [JinjaNode], line: Int) throws -> Flow {
        let sequence = try evaluate(iterable)
        guard var items = sequence.elements else {
            throw JinjaError(.runtime, line: line, "'\(sequence.typeName)' object is not iterable")
        }
        if let filter {
            items = try items.filter { item in
                try step(line: line)
                scopes.append(try bind(targets, to: item, line: line))
                defer { scopes.removeLast() }
                return try evaluate(filter).isTruthy
            }
        }
        if items.isEmpty { return try execute(otherwise) }
        var depth = 1
        if case .loop(let outer) = lookup("loop") { depth = outer.depth + 1 }
        for (index, item) in items.enumerated() {
            try step(line: line)
            var scope = try bind(targets, to: item, line: line)
            scope["loop"] = .loop(JinjaLoop(index: index, items: items, depth: depth))
            scopes.append(scope)
            let flow = try execute(body)
            scopes.removeLast()
            if flow == .breakLoop { break }
        }
        return .normal
    }

    private func step(line: Int) throws {
        iterations += 1
        if iterations > limits.maxIterations {
            throw JinjaError(.limit, line: line, "more than \(limits.maxIterations) loop iterations")
        }
    }

    private func bind(_ targets: [String], to item: JinjaValue, line: Int) throws -> [String: JinjaValue] {
        if targets.count == 1 { return [targets[0]: item] }
        guard let parts = item.elements, parts.count == targets.count else {
            throw JinjaError(.runtime, line: line, "cannot unpack \(item.typeName) into \(targets.count) names")
        }
        return Dictionary(uniqueKeysWithValues: zip(targets, parts).map { ($0, $1) })
    }

    private func assign(_ value: JinjaValue, to target: JinjaNode.Target, line: Int) throws {
        switch target {
        case .names(let names):
            for (name, part) in try bind(names, to: value, line: line) { scopes[scopes.count - 1][name] = part }
        case .attribute(let name, let attribute):
            guard case .namespace(let namespace) = lookup(name) else {
                throw JinjaError(.runtime, line: line, "cannot assign attribute on non-namespace object '\(name)'")
            }
            namespace.values[attribute] = value
        }
    }

    private func macro(name: String, parameters: [(name: String, defaultValue: JinjaExpr?)], body: [JinjaNode]) -> JinjaValue {
        .function(JinjaFunction(name: name) { [unowned self] positional, keyword, line in
            guard positional.count <= parameters.count else {
                throw JinjaError(.runtime, line: line, "macro '\(name)' takes not more than \(parameters.count) argument(s)")
            }
            var scope: [String: JinjaValue] = [:]
            for (index, parameter) in parameters.enumerated() {
                if index < positional.count {
                    scope[parameter.name] = positional[index]
                } else if let given = keyword.first(where: { $0.name == parameter.name }) {
                    scope[parameter.name] = given.value
                } else if let defaultValue = parameter.defaultValue {
                    scope[parameter.name] = try evaluate(defaultValue)
                } else {
                    scope[parameter.name] = .undefined("parameter '\(parameter.name)' was not provided")
                }
            }
            try nest(line: line)
            defer { depth -= 1 }
            scopes.append(scope)
            defer { scopes.removeLast() }
            return .string(try capture { _ = try execute(body) })
        })
    }

    // MARK: - Names

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return JinjaGlobals.value(named: name, now: now, limits: limits) ?? .undefined("'\(name)' is undefined")
    }

    // MARK: - Expressions

    private func nest(line: Int) throws {
        depth += 1
        if depth > limits.maxDepth {
            depth -= 1
            throw JinjaError(.limit, line: line, "evaluation nested more than \(limits.maxDepth) deep")
        }
    }

    func evaluate(_ expr: JinjaExpr) throws -> JinjaValue {
        try nest(line: expr.line)
        defer { depth -= 1 }
        let line = expr.line
        switch expr.kind {
        case .literal(let literal):
            return .from(literal)
        case .name(let name):
            return lookup(name)
        case .list(let items):
            return .list(try items.map(evaluate))
        case .tuple(let items):
            return .tuple(try items.map(evaluate))
        case .dict(let items):
            var dict = JinjaDict()
            for item in items {
                guard case .string(let key) = try evaluate(item.key) else {
                    throw JinjaError(.unsupported, line: line, "dict keys other than strings are not supported")
                }
                dict[key] = try evaluate(item.value)
            }
            return .dict(dict)
        case .attribute(let base, let name):
            return try JinjaMethods.attribute(try evaluate(base), name, line: line)
        case .item(let base, let key):
            return try JinjaMethods.item(try evaluate(base), try evaluate(key), line: line)
        case .slice(let base, let start, let stop, let step):
            return try JinjaMethods.slice(try evaluate(base), start: try start.map(evaluate), stop: try stop.map(evaluate),
                                          step: try step.map(evaluate), line: line)
        case .call(let callee, let positional, let keyword):
            let arguments = try positional.map(evaluate)
            let keywords = try keyword.map { (name: $0.name, value: try evaluate($0.value)) }
            let function = try evaluate(callee)
            switch function {
            case .function(let f): return try f.call(arguments, keywords, line)
            case .undefined(let message): throw JinjaError(.runtime, line: line, message)
            default: throw JinjaError(.runtime, line: line, "'\(function.typeName)' object is not callable")
            }
        case .filter(let base, let name, let positional, let keyword):
            let value = try evaluate(base)
            return try JinjaFilters.apply(name, to: value, positional: try positional.map(evaluate),
                                          keyword: try keyword.map { (name: $0.name, value: try evaluate($0.value)) },
                                          line: line, limits: limits)
        case .test(let base, let name, let arguments, let negated):
            let result = try JinjaTests.apply(name, to: try evaluate(base), arguments: try arguments.map(evaluate), line: line)
            return .bool(result != negated)
        case .unary(let op, let operand):
            let value = try evaluate(operand)
            switch op {
            case .not: return .bool(!value.isTruthy)
            case .plus, .minus:
                if case .double(let d) = value { return .double(op == .minus ? -d : d) }
                if let n = value.integer, n != .min { return .int(op == .minus ? -n : n) }
                if case .undefined(let message) = value { throw JinjaError(.runtime, line: line, message) }
                throw JinjaError(.runtime, line: line, "bad operand type for unary \(op.rawValue): '\(value.typeName)'")
            }
        case .binary(.and, let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? try evaluate(right) : l
        case .binary(.or, let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? l : try evaluate(right)
        case .binary(let op, let left, let right):
            return try JinjaOperators.apply(op, try evaluate(left), try evaluate(right), line: line, limits: limits)
        case .conditional(let value, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(value) }
            return try otherwise.map(evaluate) ?? .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
    }
}
