/// The report page's style sheet and its one script, inline (the file must work offline).
enum ReportPage {
    static let style = """

        :root { color-scheme: light; --ink: #1d232a; --muted: #5f6b76; --rule: #e3e7eb; --panel: #f7f9fa; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 1240px; padding: 16px 20px 40px; color: var(--ink);
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
        header { display: flex; align-items: baseline; gap: 16px; border-bottom: 1px solid var(--rule); }
        h1 { font-size: 20px; margin: 4px 0 8px; word-break: break-all; }
        h2 { font-size: 16px; margin: 22px 0 6px; }
        h3 { font-size: 14px; margin: 0 0 2px; }
        nav { color: var(--muted); }
        a { color: #0072B2; text-decoration: none; }
        .note { color: var(--muted); font-size: 12px; margin: 2px 0 8px; }
        .headline { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
        .headline div { background: var(--panel); border: 1px solid var(--rule); border-radius: 6px; padding: 6px 12px; }
        .headline span { display: block; color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
        .headline b { font-size: 15px; font-variant-numeric: tabular-nums; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 10px; }
        .chart { margin: 0; padding: 8px 10px 4px; border: 1px solid var(--rule); border-radius: 6px; }
        .chart figcaption { font-size: 13px; }
        .chart .caption { color: var(--muted); font-size: 11px; }
        .legend { font-size: 11px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 2px 10px; min-height: 16px; }
        .legend i { display: inline-block; width: 12px; height: 3px; margin: 0 4px 3px 0; vertical-align: middle; }
        .legend .absent { font-style: italic; }
        svg { display: block; width: 100%; height: auto; overflow: visible; }
        svg .grid { stroke: #edf0f2; stroke-width: 1; }
        svg .axis { stroke: #9aa5ae; stroke-width: 1; }
        svg .tick { font-size: 10px; fill: var(--muted); font-variant-numeric: tabular-nums; }
        svg path { fill: none; stroke-linejoin: round; stroke-linecap: round; }
        svg path.line { stroke-width: 1.8; }
        svg path.raw { stroke-width: 1; opacity: .3; }
        .table-box { max-height: 360px; overflow: auto; border: 1px solid var(--rule); border-radius: 6px; }
        table { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; width: 100%; }
        th, td { padding: 2px 6px; text-align: right; white-space: nowrap; }
        th { position: sticky; top: 0; background: var(--panel); border-bottom: 1px solid var(--rule); font-weight: 600; }
        tbody tr:nth-child(even) { background: #fafbfc; }
        tr.eval td { background: #eef6fb; }
        .colour-by button { font: inherit; font-size: 12px; padding: 1px 10px; margin-left: 4px; border: 1px solid #b9c3cb;
          background: #fff; border-radius: 12px; cursor: pointer; }
        .colour-by button[aria-pressed="true"] { background: #1d232a; color: #fff; border-color: #1d232a; }
        .colour-by, .scale { font-size: 12px; color: var(--muted); margin: 4px 0; }
        .ramp { display: inline-flex; align-items: center; gap: 6px; margin-left: 6px; }
        .ramp i { display: inline-block; width: 140px; height: 10px; border-radius: 2px;
          background: linear-gradient(90deg, rgba(213,94,0,.8), rgba(255,255,255,0) 50%, rgba(0,114,178,.8)); }
        body[data-colour="kl"] .scale.by-advantage, body[data-colour="advantage"] .scale.by-kl { display: none; }
        .sample { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
        .sample .meta { color: var(--muted); font-size: 12px; margin: 0 0 6px; }
        .prompt { white-space: pre-wrap; color: var(--muted); font-size: 12px; border-left: 3px solid var(--rule);
          padding-left: 8px; margin-bottom: 6px; }
        .tokens { white-space: pre-wrap; font: 13px/1.9 ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-word; }
        .tokens span { background: var(--a); border-radius: 2px; padding: 2px 0; box-shadow: inset -1px 0 0 #fff; }
        body[data-colour="kl"] .tokens span { background: var(--k); }
        .tokens span:hover { outline: 1px solid #1d232a; }
        .inspect { font: 11px ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted); min-height: 16px; }

        """

    /// Switches the token colouring, shows a hovered token's figures under its sample, and
    /// checks the page for Scripts/check-report: each SVG gets `data-drawn` (the points its paths
    /// and dots plot), the root gets `data-script="ok"` once all of this ran, or `data-script-error`.
    static let script = """

        (function () {
          "use strict";
          var root = document.documentElement;
          window.addEventListener("error", function (e) { root.setAttribute("data-script-error", String(e.message)); });
          try {
            var svgs = document.querySelectorAll("svg[data-points]");
            for (var i = 0; i !== svgs.length; i++) {
              var drawn = svgs[i].querySelectorAll("circle").length;
              var paths = svgs[i].querySelectorAll("path");
              for (var j = 0; j !== paths.length; j++) {
                var d = paths[j].getAttribute("d") || "";
                if (/nan|inf/i.test(d)) { throw new Error("a chart path holds a non-finite coordinate"); }
                drawn += (d.match(/[ML]/g) || []).length;
              }
              svgs[i].setAttribute("data-drawn", String(drawn));
            }
            var toggle = document.querySelector(".colour-by");
            if (toggle) {
              toggle.removeAttribute("hidden");
              toggle.addEventListener("click", function (e) {
                var by = e.target.getAttribute("data-by");
                if (!by) { return; }
                document.body.setAttribute("data-colour", by);
                var buttons = toggle.querySelectorAll("button");
                for (var k = 0; k !== buttons.length; k++) {
                  buttons[k].setAttribute("aria-pressed", String(buttons[k] === e.target));
                }
              });
            }
            document.addEventListener("mouseover", function (e) {
              var t = e.target;
              if (t.parentNode && t.parentNode.className === "tokens") {
                var box = t.parentNode.parentNode.querySelector(".inspect");
                if (box) { box.textContent = (t.getAttribute("title") || "").split("\\n").join("   "); }
              }
            });
            root.setAttribute("data-script", "ok");
          } catch (err) {
            root.setAttribute("data-script-error", String(err && err.message || err));
          }
        })();

        """
}
