/// The iterations table: one row per iteration with the figures a person scans for the moment
/// a run went wrong. Columns the run never logged are left out.
enum ReportTable {
    static let columns: [(key: String, header: String)] = [
        ("reward/score", "score"), ("reward/kl", "KL part"), ("kl", "KL"), ("kl_coef", "β"), ("entropy", "entropy"),
        ("response_length", "length"), ("never_ended", "never ended"), ("policy_loss", "policy loss"),
        ("value_loss", "value loss"), ("ptx_loss", "ptx loss"), ("policy_clipfrac", "clip"), ("approx_kl", "approx KL"),
        ("actor_grad_norm", "grad norm"), ("policy_lag", "lag"),
        ("iteration_s", "s/it"), ("eval/task_accuracy", "held-out acc."),
    ]

    static func html(_ metrics: [[String: Double]]) -> String {
        let shown = columns.filter { c in metrics.contains { $0[c.key] != nil } }
        var out = "<div class=\"table-box\"><table>\n<thead><tr><th>iteration</th>"
        for c in shown { out += "<th title=\"\(HTMLText.escape(c.key))\">\(HTMLText.escape(c.header))</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for (i, line) in metrics.enumerated() {
            let evaluated = line["eval/task_accuracy"] != nil
            out += evaluated ? "<tr class=\"eval\">" : "<tr>"
            out += "<td>\(HTMLText.number(line["step"] ?? Double(i + 1)))</td>"
            for c in shown {
                out += "<td>" + (line[c.key].map { HTMLText.number($0) } ?? "") + "</td>"
            }
            out += "</tr>\n"
        }
        out += "</tbody></table></div>\n"
        return out
    }
}
