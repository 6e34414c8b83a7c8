internal import PHCCore

/// `index.html` (and `report --format html`): one self-contained page, no external asset and no
/// script, legible on a phone and a desktop, light and dark. Summary first, then the firing
/// alerts, a status grid of devices × check kinds (colour and text), and the devices with
/// problems first, each with its worst checks, freshness, trust, availability and charts; the
/// devices that are fine come last, collapsed. Every text that came from a device is escaped. Pure.
enum HTMLPage {
    struct Input {
        var report: FleetReport
        /// Charts per device (lower-cased name), for the devices shown in full.
        var charts: [String: [ChartData]]
        var host: String
    }

    /// At most this many devices are shown in full (with checks and charts); the others are rows.
    static let detailed = 40
    /// The grid lists at most this many devices (problems first).
    static let gridRows = 200

    static func rank(_ device: FleetReport.Device) -> Int {
        if device.silent { return device.status == .crit ? 0 : 2 }
        switch device.status {
        case .crit: return 1
        case .warn: return 3
        case .unknown: return 4
        case .ok: return 5
        }
    }

    /// Problems first (crit, silent, warn, unknown), then by name.
    static func ordered(_ devices: [FleetReport.Device]) -> [FleetReport.Device] {
        devices.sorted { (rank($0), $0.device) < (rank($1), $1.device) }
    }

    static func render(_ input: Input) -> String {
        let e = HTMLText.escape
        let report = input.report
        let devices = ordered(report.devices)
        let counts = Dictionary(grouping: devices, by: { $0.silent ? "silent" : $0.status.rawValue }).mapValues(\.count)
        let firing = report.alerts.filter { $0.state == AlertState.firing.rawValue }
        var html = ""
        html.reserveCapacity(devices.count * 400 + 64 * 1024)
        html += """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>PHC fleet: \(e(summaryLine(counts, total: devices.count)))</title>
            <style>\(style)</style></head>
            <body><header><h1>PHC fleet</h1>
            <p class="meta">\(devices.count) devices · \(firing.count) alerts firing · generated \(e(report.generatedAt)) by phc-collector on \(e(input.host))</p>
            <ul class="summary">
            """
        for status in ["crit", "silent", "warn", "unknown", "ok"] where counts[status] != nil {
            html += "<li class=\"\(cssStatus(status))\"><b>\(counts[status]!)</b> \(status)</li>"
        }
        html += "</ul></header>\n"

        // Receivers that fail: the page says nobody is being told.
        let failing = report.receivers.filter { $0.status == "failing" }
        if !failing.isEmpty {
            html += "<section class=\"notice s-crit\"><h2>Receivers failing</h2><ul>"
            for receiver in failing {
                html +=
                    "<li><b>\(e(receiver.name))</b> (\(e(receiver.type))) since \(e(receiver.since ?? "?")), "
                    + "\(receiver.pending) waiting: \(e(receiver.lastError ?? ""))</li>"
            }
            html += "</ul></section>\n"
        }

        html += "<section id=\"alerts\"><h2>Firing alerts (\(firing.count))</h2>"
        if firing.isEmpty {
            html += "<p>None.</p>"
        } else {
            html +=
                "<div class=\"scroll\"><table><thead><tr><th>severity</th><th>device</th><th>alert</th><th>since</th><th>summary</th></tr></thead><tbody>"
            for alert in firing.sorted(by: { ($1.severity, $0.device) < ($0.severity, $1.device) }).prefix(500) {
                let what = alert.check.map { "\(alert.name) \($0)" } ?? alert.name
                html +=
                    "<tr class=\"\(cssStatus(alert.severity.rawValue))\"><td><b>\(alert.severity.rawValue)</b>"
                    + (alert.silenced ? " (silenced)" : "") + "</td><td>\(e(alert.device))</td><td>\(e(what))</td>"
                    + "<td>\(e(alert.since))</td><td>\(e(alert.summary))</td></tr>"
            }
            html += "</tbody></table></div>"
            if firing.count > 500 {
                html += "<p>… and \(firing.count - 500) more (phc-collector alerts lists them all).</p>"
            }
        }
        html += "</section>\n"

        // The grid: devices × check kinds, each cell its worst status, in words and colour.
        let kinds = Array(Set(devices.flatMap { $0.checks.map { String($0.id.prefix { $0 != ":" }) } })).sorted()
        html +=
            "<section id=\"grid\"><h2>Status</h2><div class=\"scroll\"><table class=\"grid\"><thead><tr><th>device</th><th>seen</th>"
        for kind in kinds { html += "<th>\(e(kind))</th>" }
        html += "</tr></thead><tbody>"
        for device in devices.prefix(gridRows) {
            let anchor = "d-" + e(device.device.lowercased())
            html += "<tr><th><a href=\"#\(anchor)\">\(e(device.device))</a></th>"
            html += "<td class=\"\(device.silent ? "s-silent" : "")\">\(e(freshness(device)))</td>"
            for kind in kinds {
                let statuses = device.checks.filter { String($0.id.prefix { $0 != ":" }) == kind }.map(\.status)
                if let status = statuses.max() {
                    let title = device.checks.filter {
                        String($0.id.prefix { $0 != ":" }) == kind && $0.status == status
                    }
                    .map { "\($0.id): \($0.summary)" }.prefix(3).joined(separator: "\n")
                    html += "<td class=\"\(cssStatus(status.rawValue))\" title=\"\(e(title))\">\(status.rawValue)</td>"
                } else {
                    html += "<td class=\"none\">–</td>"
                }
            }
            html += "</tr>"
        }
        html += "</tbody></table></div>"
        if devices.count > gridRows {
            html +=
                "<p>The grid shows the \(gridRows) devices with the most to say; all \(devices.count) are listed below.</p>"
        }
        html += "</section>\n<section id=\"devices\"><h2>Devices</h2>\n"
        let full = devices.prefix(detailed).filter { rank($0) < 5 || devices.count <= detailed }
        for device in full { html += article(device, charts: input.charts[device.device.lowercased()] ?? []) }
        let rest = Array(devices.dropFirst(full.count))
        let troubled = rest.filter { rank($0) < 5 }
        let fine = rest.filter { rank($0) == 5 }
        if !troubled.isEmpty {
            html += "<h3>\(troubled.count) more devices with problems</h3>" + rows(troubled)
        }
        if !fine.isEmpty {
            html +=
                "<details><summary>\(fine.count) \(full.isEmpty && troubled.isEmpty ? "" : "more ")devices, all ok</summary>"
                + rows(fine) + "</details>"
        }
        html +=
            "</section>\n<footer><p>PHC Health · manifests are signed (DSSE, Ed25519) and verified with keys trusted for each device · "
            + "this page works without scripts and loads nothing from elsewhere.</p></footer>\n</body></html>\n"
        return html
    }

    /// Devices as compact table rows.
    static func rows(_ devices: [FleetReport.Device]) -> String {
        let e = HTMLText.escape
        var html =
            "<div class=\"scroll\"><table class=\"rows\"><thead><tr><th>device</th><th>status</th><th>trust</th>"
            + "<th>seen</th><th>24 h</th><th>worst checks</th></tr></thead><tbody>"
        for device in devices {
            let status = device.silent ? "silent" : device.status.rawValue
            html +=
                "<tr id=\"d-\(e(device.device.lowercased()))\"><th>\(e(device.device))</th>"
                + "<td class=\"\(cssStatus(status))\">\(status)</td><td>\(e(device.trust))</td><td>\(e(freshness(device)))</td>"
                + "<td>\(percent(device.availability?.day))</td><td>\(e(ReportRenderer.worstChecks(device)))</td></tr>"
        }
        return html + "</tbody></table></div>"
    }

    static func article(_ device: FleetReport.Device, charts: [ChartData]) -> String {
        let e = HTMLText.escape
        let status = device.silent ? "silent" : device.status.rawValue
        var html =
            "<article id=\"d-\(e(device.device.lowercased()))\" class=\"device \(cssStatus(status))\">"
            + "<h3>\(e(device.device)) <span class=\"badge\">\(status)</span></h3><p class=\"meta\">"
        var facts = [e(device.trust), "seen \(e(freshness(device)))"]
        if let sequence = device.sequence { facts.append("sequence \(sequence)") }
        if let version = device.agentVersion { facts.append("agent \(e(version))") }
        if let availability = device.availability {
            facts.append(
                "availability 24 h \(percent(availability.day)), 7 d \(percent(availability.week)), 30 d \(percent(availability.month))"
            )
        }
        html += facts.joined(separator: " · ") + "</p>"
        if let silence = device.silence { html += "<p class=\"warning\">\(e(silence))</p>" }
        if let rejection = device.rejection { html += "<p class=\"warning\">refused: \(e(rejection))</p>" }
        let bad = device.checks.filter { $0.status != .ok }.sorted { $0.status > $1.status }
        if !device.checks.isEmpty {
            html += "<ul class=\"checks\">"
            for check in bad.prefix(12) {
                html +=
                    "<li class=\"\(cssStatus(check.status.rawValue))\"><b>\(check.status.rawValue)</b> \(e(check.id)): \(e(check.summary))</li>"
            }
            let fine = device.checks.count - bad.count
            if fine > 0 { html += "<li class=\"s-ok\"><b>ok</b> \(fine) other check\(fine == 1 ? "" : "s")</li>" }
            html += "</ul>"
        }
        if !charts.isEmpty {
            html += "<div class=\"charts\">"
            for chart in charts {
                html +=
                    "<figure><figcaption>\(e(chart.title)) (\(e(unitName(chart.unit)))), \(chart.window)</figcaption>"
                    + Charts.svg(chart) + "</figure>"
            }
            html += "</div>"
        }
        return html + "</article>\n"
    }

    static func freshness(_ device: FleetReport.Device) -> String {
        guard let ago = device.lastSeenAgo else { return "never" }
        return device.silent ? "\(ago) (silent)" : ago
    }

    static func percent(_ value: Double?) -> String {
        guard let value else { return "–" }
        let shown = (value * 1000).rounded(.down) / 10
        return "\(shown == shown.rounded() ? String(Int(shown)) : String(shown)) %"
    }

    static func unitName(_ unit: SeriesKeys.Unit) -> String {
        switch unit {
        case .celsius: "°C"
        case .percent: "%"
        case .bytes: "bytes"
        case .milliseconds: "ms"
        case .watts: "W"
        case .count: "count"
        case .load: "load"
        }
    }

    static func cssStatus(_ status: String) -> String { "s-\(status)" }

    static func summaryLine(_ counts: [String: Int], total: Int) -> String {
        let parts = ["crit", "silent", "warn", "unknown"].compactMap { status in
            counts[status].map { "\($0) \(status)" }
        }
        return parts.isEmpty ? "all \(total) ok" : parts.joined(separator: ", ")
    }

    static let style = """
        :root{--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#d0d7de;--card:#f6f8fa;\
        --ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff8c5;--crit:#cf222e;--crit-bg:#ffebe9;\
        --unknown:#57606a;--unknown-bg:#eaeef2;--chart:#0969da}
        @media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#161b22;\
        --ok:#3fb950;--ok-bg:#12261e;--warn:#d29922;--warn-bg:#272115;--crit:#f85149;--crit-bg:#2d1417;\
        --unknown:#9198a1;--unknown-bg:#1c2128;--chart:#4493f8}}
        *{box-sizing:border-box}body{margin:0 auto;max-width:1200px;padding:0 12px 24px;background:var(--bg);color:var(--fg);\
        font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        h1{font-size:1.6em;margin:16px 0 4px}h2{font-size:1.2em;margin:20px 0 8px}h3{margin:0 0 4px;font-size:1.05em}
        .meta{color:var(--muted);margin:2px 0 8px}.summary{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:8px}
        .summary li{padding:4px 10px;border-radius:6px;border:1px solid var(--line)}
        table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border:1px solid var(--line);padding:3px 6px;\
        text-align:left;vertical-align:top}thead th{background:var(--card)}.scroll{overflow-x:auto}
        .grid td{text-align:center;white-space:nowrap}.none{color:var(--muted)}
        .s-ok{color:var(--ok);background:var(--ok-bg)}.s-warn{color:var(--warn);background:var(--warn-bg)}
        .s-crit,.s-silent{color:var(--crit);background:var(--crit-bg)}.s-unknown{color:var(--unknown);background:var(--unknown-bg)}
        a{color:inherit}
        .device{border:1px solid var(--line);border-left-width:6px;border-radius:6px;padding:8px 10px;margin:10px 0;\
        background:var(--card);color:var(--fg)}.device.s-ok{border-left-color:var(--ok)}.device.s-warn{border-left-color:var(--warn)}\
        .device.s-crit,.device.s-silent{border-left-color:var(--crit)}.device.s-unknown{border-left-color:var(--unknown)}
        .badge{font-size:.8em;padding:1px 6px;border-radius:4px;border:1px solid currentColor}
        .checks{list-style:none;padding:0;margin:6px 0}.checks li{padding:2px 6px;margin:2px 0;border-radius:4px}
        .warning{color:var(--crit)}.charts{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;flex:1 1 280px;max-width:380px}
        figcaption{font-size:.85em;color:var(--muted)}svg.chart{width:100%;height:auto;display:block}
        .axis{stroke:var(--muted);stroke-width:1}.tick{fill:var(--muted);font-size:10px}
        .band{fill:var(--chart);opacity:.18}.line{fill:none;stroke:var(--chart);stroke-width:1.6}
        details summary{cursor:pointer;font-weight:600;margin:10px 0}.notice{padding:6px 10px;border-radius:6px}
        footer{color:var(--muted);font-size:.85em;margin-top:24px}
        @media (max-width:600px){body{font-size:14px}.grid{font-size:.8em}figure{max-width:none}}
        """
}
