internal import PHCCore

/// A silence (`phc-collector silence add`): alerts whose labels it matches are still shown, marked
/// silenced, and not sent until it ends. A silence that ends while its alert still fires lets the
/// alert be sent: the group sees it as new.
public struct AlertSilence: Codable, Sendable, Equatable {
    public var id: String
    /// Label → value; every one must match.
    public var matchers: [String: String]
    public var startsAt: Int64
    public var endsAt: Int64
    public var comment: String
    /// Who added it (the user running the command).
    public var author: String

    public init(
        id: String, matchers: [String: String], startsAt: Int64, endsAt: Int64, comment: String, author: String
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.comment = comment
        self.author = author
    }

    public func isActive(at now: Int64) -> Bool { startsAt <= now && now < endsAt }

    func matches(_ labels: [String: String]) -> Bool {
        !matchers.isEmpty && matchers.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// Which alerts another alert covers (SPEC §4.2), so they are shown but not sent: pure.
enum Inhibition {
    /// - A silent device's `CheckFailing` alerts: its old check results are not news.
    /// - A warn alert when a firing crit one has the same alertname, device and check (a check has one
    ///   status at a time, so today this holds for alerts that other rules may add).
    static func inhibited(_ alerts: [AlertRecord], silentDevices: Set<String>) -> Set<AlertKey> {
        struct Subject: Hashable {
            var name: AlertName
            var device: String
            var check: String?
        }
        let firing = alerts.filter { $0.state == .firing }
        let critical = Set(
            firing.filter { $0.severity == .crit }.map { Subject(name: $0.name, device: $0.device, check: $0.checkID) })
        var covered: Set<AlertKey> = []
        for alert in alerts where alert.state != .resolved {
            if alert.name == .checkFailing && silentDevices.contains(alert.device) { covered.insert(alert.key) }
            if alert.severity == .warn,
                critical.contains(Subject(name: alert.name, device: alert.device, check: alert.checkID))
            {
                covered.insert(alert.key)
            }
        }
        return covered
    }
}
