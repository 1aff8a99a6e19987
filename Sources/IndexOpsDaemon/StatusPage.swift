import IndexOpsController
import IndexOpsCore

/// The HTML status page at `GET /`: counts per state, failed indexes with their errors, the
/// last passes and the recent status commits. No JavaScript; every text that comes from the
/// repository or an indexer is escaped.
enum StatusPage {
    static func render(summary: StatusSummary, snapshot: DaemonState.Snapshot, branch: String) -> String {
        var counts = Dictionary(uniqueKeysWithValues: ActualState.allCases.map { ($0, 0) })
        for byState in summary.counts.values { for (state, n) in byState { counts[state, default: 0] += n } }
        let failed = summary.failed.map { (id: $0.documentId, type: $0.indexType, entry: $0.entry) }
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>indexops</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
            table { border-collapse: collapse; margin-bottom: 1.5em; }
            th, td { text-align: left; padding: .25em .8em; border-bottom: 1px solid #ddd; vertical-align: top; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            code { font-size: 90%; }
            .failed, .error, .problems { color: #b00020; }
            .ok, .present { color: #0a6b2d; }
            </style></head><body>
            <h1>indexops</h1>
            <p>Branch <code>\(escape(branch))</code>: \(summary.documents) documents, \(counts.values.reduce(0, +)) indexes.
            \(snapshot.succeededOnce ? "Ready." : "Not ready yet: no pass has succeeded.")</p>
            <h2>Indexes per state</h2>
            <table><tr><th>state</th><th>indexes</th></tr>

            """
        for state in ActualState.allCases {
            html += "<tr><td class=\"\(state.rawValue)\">\(state.rawValue)</td><td class=\"n\">\(counts[state] ?? 0)</td></tr>\n"
        }
        html += "</table>\n<h2>Failed indexes</h2>\n"
        html += table(
            ["document", "type", "error", "retries", "next retry"], empty: "None.",
            rows: failed.map { f in
                "<td><code>\(escape(f.id))</code></td><td>\(escape(f.type))</td>"
                    + "<td class=\"failed\">\(escape(f.entry.errorMessage ?? ""))</td><td class=\"n\">\(f.entry.retryCount)</td>"
                    + "<td>\(escape(f.entry.nextRetryAt?.text ?? "—"))</td>"
            })
        html += "<h2>Last passes</h2>\n"
        html += table(
            ["ended", "duration", "result", "what"], empty: "No pass has ended yet.",
            rows: snapshot.passes.map { p in
                "<td>\(escape(p.endedAt.text))</td><td class=\"n\">\(escape(DurationText.format(p.duration)))</td>"
                    + "<td class=\"\(escape(p.result))\">\(escape(p.result))</td><td>\(escape(p.summary))</td>"
            })
        html += "<h2>Recent status commits</h2>\n"
        html += table(
            ["commit", "pass ended", "pass"], empty: "None since this process started.",
            rows: snapshot.commits.map { c in
                "<td><code>\(escape(String(c.commit.prefix(12))))</code></td><td>\(escape(c.at.text))</td><td>\(escape(c.summary))</td>"
            })
        html += "<p>JSON: <a href=\"/api/v1/status\">/api/v1/status</a> · metrics: <a href=\"/metrics\">/metrics</a></p>\n</body></html>\n"
        return html
    }

    /// A table with a header row and one row per item (cells already rendered and escaped),
    /// or a paragraph saying there is nothing.
    private static func table(_ headers: [String], empty: String, rows: [String]) -> String {
        guard !rows.isEmpty else { return "<p>\(empty)</p>\n" }
        var html = "<table><tr>" + headers.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for row in rows { html += "<tr>\(row)</tr>\n" }
        return html + "</table>\n"
    }

    /// Text made safe for HTML element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
