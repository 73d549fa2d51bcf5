/// The memory table: each role's peak resident memory (the high-water mark its process
/// reported) beside what its tensors need (weights, optimizer state, KV cache, activations,
/// computed from the configs and batch shapes), from the last iteration that logged them.
enum ReportMemoryTable {
    static func html(_ metrics: [[String: Double]]) -> String {
        guard let line = metrics.last(where: { $0.keys.contains { $0.hasPrefix("memory_") } }) else {
            return "<p class=\"note\">No memory figures logged in this run.</p>\n"
        }
        let roles = line.keys.compactMap { key -> String? in
            guard key.hasPrefix("memory_"), key.hasSuffix("_peak_mb") else { return nil }
            return String(key.dropFirst("memory_".count).dropLast("_peak_mb".count))
        }.sorted()
        var out = "<div class=\"table-box\"><table>\n<thead><tr><th>role</th><th>peak resident (MiB)</th>"
            + "<th>tensors need (MiB)</th><th>peak / tensors</th></tr></thead>\n<tbody>\n"
        for role in roles {
            let peak = line["memory_\(role)_peak_mb"] ?? 0
            let tensors = line["memory_\(role)_tensors_mb"]
            let ratio = tensors.flatMap { $0 > 0 ? ((peak / $0) * 100).rounded() / 100 : nil }
            out += "<tr><td>\(HTMLText.escape(role))</td><td>\(HTMLText.number(peak))</td>"
                + "<td>\(tensors.map(HTMLText.number) ?? "")</td><td>\(ratio.map(HTMLText.number) ?? "")</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        out += "<p class=\"note\">Peak: the process's high-water mark (roles sharing a process share it). Tensors: weights, gradients, "
            + "optimizer moments, KV cache and activations of one mini-batch or scoring chunk; every process also holds about 48 MiB of runtime.</p>\n"
        return out
    }
}
