import Foundation

/// Binary operators with Python's semantics: int arithmetic stays int (overflow is an error,
/// not a wrap), `/` is always a float, `//` and `%` floor, `+` joins strings and lists, `*`
/// repeats them, comparisons order numbers, strings and lists.
enum JinjaOperators {
    static func apply(_ op: JinjaExpr.BinaryOperator, _ left: JinjaValue, _ right: JinjaValue,
                      line: Int, limits: JinjaLimits) throws -> JinjaValue {
        func fail() -> JinjaError {
            if case .undefined(let message) = left { return JinjaError(.runtime, line: line, message) }
            if case .undefined(let message) = right { return JinjaError(.runtime, line: line, message) }
            return JinjaError(.runtime, line: line,
                              "unsupported operand type(s) for \(op.rawValue): '\(left.typeName)' and '\(right.typeName)'")
        }
        func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
            if result.overflow { throw JinjaError(.runtime, line: line, "integer overflow in '\(op.rawValue)'") }
            return .int(result.partialValue)
        }
        func bounded(_ count: Int) throws {
            if count > limits.maxOutput { throw JinjaError(.limit, line: line, "a value longer than \(limits.maxOutput) elements") }
        }
        switch op {
        case .equal: return .bool(left.isEqual(to: right))
        case .notEqual: return .bool(!left.isEqual(to: right))
        case .less, .lessEqual, .greater, .greaterEqual:
            guard let order = compare(left, right) else {
                throw JinjaError(.runtime, line: line, "'\(op.rawValue)' not supported between instances of '\(left.typeName)' and '\(right.typeName)'")
            }
            switch op {
            case .less: return .bool(order < 0)
            case .lessEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case .contains, .notContains:
            let found: Bool
            switch right {
            case .string(let haystack):
                guard case .string(let needle) = left else {
                    throw JinjaError(.runtime, line: line, "'in <string>' requires string as left operand, not \(left.typeName)")
                }
                found = needle.isEmpty || haystack.unicodeScalars.contains(needle.unicodeScalars)
            case .list(let items), .tuple(let items): found = items.contains { $0.isEqual(to: left) }
            case .dict(let dict):
                if case .string(let key) = left { found = dict[key] != nil } else { found = false }
            case .undefined: found = false
            default: throw JinjaError(.runtime, line: line, "argument of type '\(right.typeName)' is not iterable")
            }
            return .bool(found == (op == .contains))
        case .concat:
            let text = left.text + right.text
            try bounded(text.unicodeScalars.count)
            return .string(text)
        case .add:
            switch (left, right) {
            case (.string(let a), .string(let b)):
                try bounded(a.unicodeScalars.count + b.unicodeScalars.count)
                return .string(a + b)
            case (.list(let a), .list(let b)): try bounded(a.count + b.count); return .list(a + b)
            case (.tuple(let a), .tuple(let b)): try bounded(a.count + b.count); return .tuple(a + b)
            default: break
            }
            if let a = left.integer, let b = right.integer { return try checked(a.addingReportingOverflow(b)) }
            if let a = left.numeric, let b = right.numeric { return .double(a + b) }
            throw fail()
        case .subtract:
            if let a = left.integer, let b = right.integer { return try checked(a.subtractingReportingOverflow(b)) }
            if let a = left.numeric, let b = right.numeric { return .double(a - b) }
            throw fail()
        case .multiply:
            if let a = left.integer, let b = right.integer { return try checked(a.multipliedReportingOverflow(by: b)) }
            if let a = left.numeric, let b = right.numeric { return .double(a * b) }
            switch (left, right) {
            case (.string(let s), _) where right.integer != nil, (_, .string(let s)) where left.integer != nil:
                let times = max(0, right.integer ?? left.integer ?? 0)
                try bounded(s.unicodeScalars.count * min(times, limits.maxOutput + 1))
                return .string(String(repeating: s, count: times))
            case (.list(let items), _) where right.integer != nil, (_, .list(let items)) where left.integer != nil:
                let times = max(0, right.integer ?? left.integer ?? 0)
                try bounded(items.count * min(times, limits.maxOutput + 1))
                return .list(Array([[JinjaValue]](repeating: items, count: times).joined()))
            default: throw fail()
            }
        case .divide:
            guard let a = left.numeric, let b = right.numeric else { throw fail() }
            if b == 0 { throw JinjaError(.runtime, line: line, "division by zero") }
            return .double(a / b)
        case .floorDivide, .modulo:
            if let a = left.integer, let b = right.integer {
                if b == 0 { throw JinjaError(.runtime, line: line, "integer division or modulo by zero") }
                if a == .min && b == -1 { throw JinjaError(.runtime, line: line, "integer overflow in '\(op.rawValue)'") }
                var quotient = a / b
                var remainder = a % b
                if remainder != 0 && (remainder < 0) != (b < 0) {
                    quotient -= 1
                    remainder += b
                }
                return .int(op == .floorDivide ? quotient : remainder)
            }
            if case .string = left, op == .modulo {
                throw JinjaError(.unsupported, line: line, "'%' string formatting is not supported")
            }
            guard let a = left.numeric, let b = right.numeric else { throw fail() }
            if b == 0 { throw JinjaError(.runtime, line: line, "float division by zero") }
            let quotient = (a / b).rounded(.down)
            return .double(op == .floorDivide ? quotient : a - quotient * b)
        case .power:
            if let a = left.integer, let b = right.integer, b >= 0 {
                var result = 1
                for _ in 0..<min(b, 64) {
                    let (product, overflow) = result.multipliedReportingOverflow(by: a)
                    if overflow { throw JinjaError(.runtime, line: line, "integer overflow in '**'") }
                    result = product
                }
                if b > 64, abs(a) > 1 { throw JinjaError(.runtime, line: line, "integer overflow in '**'") }
                if b > 64, a == -1 { return .int(b % 2 == 0 ? 1 : -1) }
                return .int(result)
            }
            if let a = left.numeric, let b = right.numeric { return .double(Foundation.pow(a, b)) }
            throw fail()
        case .and, .or:
            preconditionFailure("and/or short-circuit in the renderer")
        }
    }

    /// -1, 0 or 1 as Python orders the two values; nil where Python raises TypeError.
    static func compare(_ left: JinjaValue, _ right: JinjaValue) -> Int? {
        if let a = left.numeric, let b = right.numeric { return a < b ? -1 : a > b ? 1 : 0 }
        switch (left, right) {
        case (.string(let a), .string(let b)):
            let x = Array(a.unicodeScalars.map(\.value)), y = Array(b.unicodeScalars.map(\.value))
            return x.lexicographicallyPrecedes(y) ? -1 : x == y ? 0 : 1
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !x.isEqual(to: y) { return compare(x, y) }
            return a.count < b.count ? -1 : a.count > b.count ? 1 : 0
        default: return nil
        }
    }
}
