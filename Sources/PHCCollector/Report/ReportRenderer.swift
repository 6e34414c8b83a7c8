#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// Text, Markdown and JSON renderings of a ``FleetReport``.
public enum ReportRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case text, json, markdown, html
    }

    /// Renders `report`. Text from devices and the share is inert in every format: in text no
    /// control character reaches the terminal (escape sequences are shown, not obeyed) and each
    /// value stays on its line; in Markdown table syntax and markup are escaped; JSON escapes itself.
    ///
    /// - Parameter sparklines: draw the device's series as sparklines (on a terminal).
    public static func render(
        _ report: FleetReport, format: Format, colour: Bool = false, width: Int = 80, sparklines: Bool = false
    ) -> String {
        switch format {
        case .json: json(report)
        case .markdown: markdown(inert(report))
        case .html: HTMLPage.render(HTMLPage.Input(report: report, charts: [:], host: HostName.short()))
        case .text:
            report.history == nil
                ? fleetText(inert(report), colour: colour, width: width)
                : deviceText(inert(report), colour: colour, width: width, sparklines: sparklines)
        }
    }

    /// `report` with every text field made terminal-safe (`InertText.terminal`).
    static func inert(_ report: FleetReport) -> FleetReport {
        let safe = InertText.terminal
        var report = report
        report.devices = report.devices.map { device in
            var device = device
            device.device = safe(device.device)
            device.agentVersion = device.agentVersion.map(safe)
            device.rejection = device.rejection.map(safe)
            device.silence = device.silence.map(safe)
            device.checks = device.checks.map {
                CheckSummary(id: safe($0.id), status: $0.status, summary: safe($0.summary))
            }
            return device
        }
        report.alerts = report.alerts.map { alert in
            var alert = alert
            alert.name = safe(alert.name)
            alert.device = safe(alert.device)
            alert.check = alert.check.map(safe)
            alert.summary = safe(alert.summary)
            return alert
        }
        report.transitions = report.transitions?.map { change in
            var change = change
            change.check = safe(change.check)
            change.summary = safe(change.summary)
            return change
        }
        report.rejections = report.rejections?.map { rejection in
            var rejection = rejection
            rejection.path = safe(rejection.path)
            rejection.reason = safe(rejection.reason)
            return rejection
        }
        return report
    }

    static func json(_ report: FleetReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The worst checks of a device, worst first: `crit mount:/mnt/space; warn gpu:0`.
    static func worstChecks(_ device: FleetReport.Device) -> String {
        if let rejection = device.rejection, !device.checks.isEmpty {
            return "refused: \(rejection)"
        }
        if device.checks.isEmpty {
            return device.rejection.map { "refused: \($0)" } ?? (device.silent ? "never seen" : "no checks")
        }
        let bad = device.checks.filter { $0.status != .ok }.sorted { $0.status > $1.status }
        if bad.isEmpty { return "\(device.checks.count) ok" }
        return bad.map { "\($0.status.rawValue) \($0.id)" }.joined(separator: "; ")
    }

    static func fleetText(_ report: FleetReport, colour: Bool, width: Int) -> String {
        let nameWidth = min(20, max(6, report.devices.map(\.device.count).max() ?? 6))
        var lines = [pad("DEVICE", nameWidth) + "  STATUS   TRUST     LAST SEEN  CHECKS"]
        let fixed = nameWidth + 2 + 9 + 10 + 11
        for device in report.devices {
            let seen = device.silent ? "silent" : (device.lastSeenAgo ?? "never")
            let status = pad(device.status.rawValue, 7)
            let line =
                pad(clip(device.device, nameWidth), nameWidth) + "  "
                + (colour ? device.status.painted(status) : status)
                + "  " + pad(device.trust, 8) + "  " + pad(clip(seen, 9), 9) + "  "
                + clip(worstChecks(device), max(10, width - fixed))
            lines.append(line)
        }
        lines += alertLines(report.alerts, colour: colour, width: width)
        lines += receiverLines(report.receivers, width: width)
        return lines.joined(separator: "\n")
    }

    /// Receivers that are failing (delivery problems are the operator's to see).
    static func receiverLines(_ receivers: [ReceiverStatus], width: Int) -> [String] {
        let failing = receivers.filter { $0.status == "failing" }
        guard !failing.isEmpty else { return [] }
        return ["", "RECEIVERS FAILING"]
            + failing.map { receiver in
                clip(
                    "  \(receiver.name) (\(receiver.type)) since \(receiver.since ?? "?"), \(receiver.pending) waiting: "
                        + InertText.terminal(receiver.lastError ?? ""), width)
            }
    }

    static func deviceText(_ report: FleetReport, colour: Bool, width: Int, sparklines: Bool = false) -> String {
        guard let device = report.devices.first else { return "" }
        var lines: [String] = []
        var head =
            "\(device.device): \(colour ? device.status.painted(device.status.rawValue) : device.status.rawValue)"
        head += ", \(device.trust)"
        if let sequence = device.sequence { head += ", sequence \(sequence)" }
        if let seen = device.lastSeen { head += ", issued \(seen) (\(device.lastSeenAgo ?? ""))" }
        if let version = device.agentVersion { head += ", agent \(version)" }
        lines.append(head)
        if let silence = device.silence { lines.append("  \(silence)") }
        if let rejection = device.rejection { lines.append("  current manifest refused: \(rejection)") }
        if !device.checks.isEmpty {
            lines.append("CHECKS")
            let idWidth = min(32, device.checks.map(\.id.count).max() ?? 8)
            for check in device.checks {
                let status = pad(check.status.rawValue, 7)
                lines.append(
                    "  " + (colour ? check.status.painted(status) : status) + " "
                        + pad(clip(check.id, idWidth), idWidth)
                        + "  " + clip(check.summary, max(10, width - idWidth - 12)))
            }
        }
        if let series = report.series, !series.isEmpty {
            lines.append("SERIES (24 h: min, avg, max)")
            let nameWidth = min(34, series.map { "\($0.check) \($0.key)".count }.max() ?? 10)
            for item in series {
                let unit = SeriesKeys.Unit(rawValue: item.unit) ?? .count
                var line =
                    "  " + pad(clip(InertText.terminal("\(item.check) \(item.key)"), nameWidth), nameWidth) + "  "
                if sparklines {
                    line +=
                        Charts.sparkline(
                            item.points.suffix(24).map { ChartPoint(time: 0, min: $0, average: $0, max: $0) }) + "  "
                }
                line += [item.min, item.average, item.max].map { Charts.format($0, unit) }.joined(separator: " / ")
                lines.append(clip(line, width))
            }
        }
        if let history = report.history, !history.isEmpty {
            lines.append("RECENT MANIFESTS")
            for entry in history {
                lines.append(
                    "  \(pad(String(entry.sequence), 8)) \(entry.issuedAt)  \(pad(entry.status.rawValue, 7)) \(entry.source)"
                )
            }
        }
        if let transitions = report.transitions, !transitions.isEmpty {
            lines.append("CHECK CHANGES")
            for change in transitions {
                lines.append(
                    clip(
                        "  \(change.issuedAt)  \(pad(change.status.rawValue, 7)) \(change.check): \(change.summary)",
                        width))
            }
        }
        if let rejections = report.rejections, !rejections.isEmpty {
            lines.append("REFUSED")
            for rejection in rejections {
                lines.append(clip("  \(rejection.at)  \(rejection.kind): \(rejection.reason)", width))
            }
        }
        lines += alertLines(report.alerts, colour: colour, width: width)
        return lines.joined(separator: "\n")
    }

    static func alertLines(_ alerts: [FleetReport.Alert], colour: Bool, width: Int) -> [String] {
        guard !alerts.isEmpty else { return [] }
        var lines = ["", "ALERTS"]
        for alert in alerts.sorted(by: { ($0.state, $1.severity, $0.device) < ($1.state, $0.severity, $1.device) }) {
            let severity = pad(alert.severity.rawValue, 5)
            let what = alert.check.map { "\(alert.name) \($0)" } ?? alert.name
            let state = alert.silenced ? "silenced" : alert.state
            lines.append(
                clip(
                    "  \(pad(state, 8)) \(colour ? alert.severity.painted(severity) : severity) \(alert.device) \(what): "
                        + alert.summary, width + (colour ? 9 : 0)))
        }
        return lines
    }

    static func markdown(_ report: FleetReport) -> String {
        let cell = InertText.markdownCell
        var lines = [
            "# PHC fleet, \(report.generatedAt)", "", "| device | status | trust | last seen | checks |",
            "|---|---|---|---|---|",
        ]
        for device in report.devices {
            lines.append(
                "| \(cell(device.device)) | \(device.status.rawValue) | \(device.trust) | "
                    + "\(device.silent ? "silent" : device.lastSeenAgo ?? "never") | \(cell(worstChecks(device))) |")
        }
        if report.history != nil, let device = report.devices.first, !device.checks.isEmpty {
            lines += ["", "## \(cell(device.device)): checks", "", "| check | status | summary |", "|---|---|---|"]
            for check in device.checks {
                lines.append("| \(cell(check.id)) | \(check.status.rawValue) | \(cell(check.summary)) |")
            }
        }
        if !report.alerts.isEmpty {
            lines += ["", "## Alerts", "", "| state | severity | device | alert | summary |", "|---|---|---|---|---|"]
            for alert in report.alerts {
                lines.append(
                    "| \(alert.state) | \(alert.severity.rawValue) | \(cell(alert.device)) | "
                        + "\(cell(alert.check.map { "\(alert.name) \($0)" } ?? alert.name)) | \(cell(alert.summary)) |")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    static func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(1, width - 1))) + "…"
    }
}
