import Foundation

/// A parsed Jinja template: the subset of jinja2 that chat templates use, rendered as
/// transformers renders them (`trim_blocks`, `lstrip_blocks`, loop controls, its globals and
/// `tojson`). Immutable after parsing, so one instance serves any number of threads.
struct JinjaTemplate: Sendable {
    let nodes: [JinjaNode]
    let limits: JinjaLimits

    /// Parses `source`; throws `JinjaError` for malformed text or for a filter, test or tag
    /// this interpreter lacks.
    init(_ source: String, limits: JinjaLimits = JinjaLimits()) throws {
        self.limits = limits
        nodes = try JinjaParser.parse(source, limits: limits)
    }

    /// Renders with `variables` as the template's top-level names; `now` is what
    /// `strftime_now` formats.
    func render(_ variables: [String: JinjaValue], now: Date = Date()) throws -> String {
        try JinjaRenderer(variables: variables, limits: limits, now: now).render(nodes)
    }
}
