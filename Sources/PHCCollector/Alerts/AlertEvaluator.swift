public import PHCCore

/// Something wrong right now, that may become an alert.
public struct AlertCondition: Sendable, Equatable {
    public var name: String
    public var device: String
    public var checkID: String?
    public var severity: CheckStatus
    public var summary: String

    public init(name: String, device: String, checkID: String? = nil, severity: CheckStatus, summary: String) {
        self.name = name
        self.device = device
        self.checkID = checkID
        self.severity = severity
        self.summary = summary
    }

    var key: AlertKey { AlertKey(name: name, device: device, checkID: checkID) }
}

/// The alert life cycle, as Prometheus and Alertmanager have it: a condition
/// first makes an alert `pending`; once it has held for `threshold` consecutive
/// passes the alert is `firing`; when the condition is gone a firing alert is
/// `resolved` (a pending one is simply dropped: one blip does not page).
enum AlertEvaluator {
    /// The built-in alert names.
    static let deviceSilent = "DeviceSilent"
    static let checkFailing = "CheckFailing"
    static let signatureInvalid = "SignatureInvalid"
    static let manifestReplay = "ManifestReplay"
    static let manifestUnreadable = "ManifestUnreadable"
    static let clockSkew = "ClockSkew"

    struct Changes: Equatable {
        var save: [AlertRecord] = []
        var delete: [AlertKey] = []
    }

    static func evaluate(
        conditions: [AlertCondition], existing: [AlertRecord], threshold: Int, now: Int64
    ) -> Changes {
        var changes = Changes()
        let current = Dictionary(
            existing.filter { $0.state != .resolved }.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var seen: Set<AlertKey> = []
        for condition in conditions {
            let key = condition.key
            guard seen.insert(key).inserted else { continue }
            var alert =
                current[key]
                ?? AlertRecord(
                    key: key, severity: condition.severity, state: .pending, count: 0, startedAt: now, firedAt: nil,
                    resolvedAt: nil, summary: condition.summary, updatedAt: now)
            alert.count += 1
            alert.severity = condition.severity
            alert.summary = condition.summary
            alert.updatedAt = now
            if alert.state == .pending, alert.count >= threshold {
                alert.state = .firing
                alert.firedAt = now
            }
            changes.save.append(alert)
        }
        for alert in current.values where !seen.contains(alert.key) {
            if alert.state == .firing {
                var resolved = alert
                resolved.state = .resolved
                resolved.resolvedAt = now
                resolved.updatedAt = now
                changes.save.append(resolved)
            } else {
                changes.delete.append(alert.key)
            }
        }
        changes.save.sort { $0.key < $1.key }
        changes.delete.sort()
        return changes
    }
}
