import Foundation

/// The functions transformers puts in a chat template's environment, and jinja2's defaults
/// that chat templates use: `raise_exception`, `strftime_now`, `namespace`, `dict`, `range`.
enum JinjaGlobals {
    static func value(named name: String, now: Date, limits: JinjaLimits) -> JinjaValue? {
        switch name {
        case "raise_exception":
            return .function(JinjaFunction(name: name) { positional, _, line in
                throw JinjaError(.raised, line: line, positional.first?.text ?? "")
            })
        case "strftime_now":
            return .function(JinjaFunction(name: name) { positional, _, line in
                guard case .string(let format)? = positional.first else {
                    throw JinjaError(.runtime, line: line, "strftime_now() expects a format string")
                }
                return .string(formatDate(format, now))
            })
        case "namespace":
            return .function(JinjaFunction(name: name) { positional, keyword, line in
                let namespace = JinjaNamespace()
                if let initial = positional.first {
                    guard case .dict(let dict) = initial else {
                        throw JinjaError(.runtime, line: line, "namespace() takes a dict or keyword arguments")
                    }
                    namespace.values = dict
                }
                for (key, value) in keyword { namespace.values[key] = value }
                return .namespace(namespace)
            })
        case "dict":
            return .function(JinjaFunction(name: name) { positional, keyword, line in
                var dict = JinjaDict()
                if case .dict(let initial)? = positional.first { dict = initial }
                for (key, value) in keyword { dict[key] = value }
                return .dict(dict)
            })
        case "range":
            return .function(JinjaFunction(name: name) { positional, _, line in
                let bounds = positional.compactMap(\.integer)
                guard bounds.count == positional.count, (1...3).contains(bounds.count) else {
                    throw JinjaError(.runtime, line: line, "range() expects 1 to 3 integers")
                }
                let start = bounds.count == 1 ? 0 : bounds[0]
                let stop = bounds.count == 1 ? bounds[0] : bounds[1]
                let step = bounds.count == 3 ? bounds[2] : 1
                if step == 0 { throw JinjaError(.runtime, line: line, "range() arg 3 must not be zero") }
                let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
                if count > limits.maxRange {
                    throw JinjaError(.limit, line: line, "range() of \(count) items; at most \(limits.maxRange) allowed")
                }
                return .list((0..<count).map { .int(start + $0 * step) })
            })
        default:
            return nil
        }
    }

    /// C's strftime in local time, as Python's `datetime.now().strftime` (in the C locale:
    /// English month and day names).
    static func formatDate(_ format: String, _ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 512)
        let length = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
