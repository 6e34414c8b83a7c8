#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
public import PHCCore

/// `phc-collector alerts`: firing (and with `all`, pending and recently resolved) alerts, with
/// their labels, whether a silence or another alert holds them back, and the last notification
/// per receiver.
///
/// JSON: `{"alerts":[{"name","state","severity","labels":{…},"summary","since","silenced",
/// "notifications":[{"receiver","status","at"}]}]}`.
public struct AlertListing: Codable, Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var state: String
        public var severity: String
        public var labels: [String: String]
        public var summary: String
        public var since: String
        public var silenced: Bool
        public var notifications: [Delivery]
    }

    public struct Delivery: Codable, Sendable, Equatable {
        public var receiver: String
        public var status: String
        public var at: String
    }

    public var alerts: [Entry]

    /// - Parameter all: pending and resolved (within a week) alerts too.
    public static func build(configuration: CollectorConfiguration, all: Bool, clock: WallClock = .system) throws
        -> AlertListing
    {
        let now = clock.now().secondsSinceEpoch
        let store = try CollectorStore(path: configuration.database, readOnly: true)
        let silences = try store.silences().filter { $0.isActive(at: now) }
        var deliveries: [String: [Delivery]] = [:]
        for row in try store.lastDeliveries() {
            for fingerprint in row.fingerprints
            where !(deliveries[fingerprint] ?? []).contains(where: { $0.receiver == row.receiver }) {
                deliveries[fingerprint, default: []].append(
                    Delivery(
                        receiver: row.receiver, status: row.status.rawValue,
                        at: Timestamp(secondsSinceEpoch: row.at).description))
            }
        }
        let records = try store.alerts(includingResolvedSince: all ? now.saturatingSubtract(7 * 86400) : nil)
            .filter { all || $0.state == .firing }
            .sorted { ($0.state, $1.severity, $0.device, $0.name) < ($1.state, $0.severity, $1.device, $1.name) }
        return AlertListing(
            alerts: records.map { alert in
                let notice = AlertNotice(alert)
                return Entry(
                    name: alert.name.rawValue, state: alert.state.rawValue, severity: alert.severity.rawValue,
                    labels: notice.labels, summary: alert.summary,
                    since: Timestamp(secondsSinceEpoch: alert.resolvedAt ?? alert.firedAt ?? alert.startedAt)
                        .description,
                    silenced: silences.contains { $0.matches(notice.labels) },
                    notifications: (deliveries[notice.fingerprint] ?? []).sorted { $0.receiver < $1.receiver })
            })
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// One line per alert (and one per receiver notified), inert: device text never reaches the
    /// terminal as control characters.
    public func text() -> String {
        guard !alerts.isEmpty else { return "no alerts" }
        let safe = InertText.terminal
        return alerts.map { alert in
            var line =
                "\(ReportRenderer.pad(alert.state, 8)) \(ReportRenderer.pad(alert.severity, 5)) \(safe(alert.labels["device"] ?? "")) \(alert.name)"
            if let check = alert.labels["check"] ?? alert.labels["receiver"] { line += " \(safe(check))" }
            line += " since \(alert.since)"
            if alert.silenced { line += " [silenced]" }
            line += ": \(safe(alert.summary))"
            let deliveries = alert.notifications.map { "    → \($0.receiver): \($0.status) at \($0.at)" }
            return ([line] + deliveries).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
