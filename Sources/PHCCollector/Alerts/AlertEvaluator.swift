public import PHCCore

/// The built-in alerts (SPEC §4.2).
public enum AlertName: String, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case deviceSilent = "DeviceSilent"
    case checkFailing = "CheckFailing"
    case signatureInvalid = "SignatureInvalid"
    case manifestReplay = "ManifestReplay"
    case manifestUnreadable = "ManifestUnreadable"
    case clockSkew = "ClockSkew"
    case receiverFailing = "ReceiverFailing"
    case watchdog = "Watchdog"

    public static func < (lhs: AlertName, rhs: AlertName) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }

    /// Counted in manifests (new sequence numbers), not in collector passes: a collector that runs
    /// more often than the agents must not turn one bad manifest into a page.
    var countsManifests: Bool { self == .checkFailing }
}

/// Something wrong right now, that may become an alert.
public struct AlertCondition: Sendable, Equatable {
    public var name: AlertName
    public var device: String
    public var checkID: String?
    public var severity: CheckStatus
    public var summary: String
    /// For alerts counted in manifests: the sequence of the manifest that shows the condition.
    public var evidence: Int64?

    public init(
        name: AlertName, device: String, checkID: String? = nil, severity: CheckStatus, summary: String,
        evidence: Int64? = nil
    ) {
        self.name = name
        self.device = device
        self.checkID = checkID
        self.severity = severity
        self.summary = summary
        self.evidence = evidence
    }

    var key: AlertKey { AlertKey(name: name, device: device, checkID: checkID) }
}

/// The alert life cycle, as Prometheus and Alertmanager have it: a condition first makes an
/// alert `pending`; once it has held `failureThreshold` times in a row (manifests for
/// `CheckFailing`, passes for the others) the alert is `firing`; once the condition has been
/// gone `recoveryThreshold` times in a row (good manifests, or passes) it is `resolved`. A pending
/// alert whose condition goes away is dropped: one blip never pages. Pure.
enum AlertEvaluator {
    /// What changed: the alerts new or changed, and those gone. An alert that stands unchanged is in
    /// neither.
    struct Changes: Equatable {
        var save: [AlertRecord] = []
        var delete: [AlertKey] = []
    }

    /// - Parameter progress: each device's last accepted sequence now, to count good manifests.
    static func evaluate(
        conditions: [AlertCondition], existing: [AlertRecord], failureThreshold: Int, recoveryThreshold: Int = 1,
        progress: [String: Int64] = [:], now: Int64
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
            // Counted once per manifest (or per pass when there is no manifest to count).
            let counts = !key.name.countsManifests || condition.evidence == nil || condition.evidence != alert.evidence
            if counts { alert.count += 1 }
            alert.evidence = condition.evidence ?? alert.evidence
            alert.recoveries = 0
            alert.severity = condition.severity
            alert.summary = condition.summary
            if alert.state == .pending, alert.count >= failureThreshold {
                alert.state = .firing
                alert.firedAt = now
            }
            // Written only when it changed (then `updatedAt` says when): an alert that stands as it
            // was, a check failing in the same manifest pass after pass, is not rewritten every pass.
            if alert != current[key] {
                alert.updatedAt = now
                changes.save.append(alert)
            }
        }
        for alert in current.values where !seen.contains(alert.key) {
            guard alert.state == .firing else {
                changes.delete.append(alert.key)
                continue
            }
            var recovering = alert
            // A good manifest counts once; for other alerts, each pass without the condition counts.
            let sequence = progress[alert.device]
            if alert.key.name.countsManifests, let evidence = alert.evidence {
                if let sequence, sequence > evidence {
                    recovering.recoveries += 1
                    recovering.evidence = sequence
                }
            } else {
                recovering.recoveries += 1
            }
            if recovering.recoveries >= recoveryThreshold {
                recovering.state = .resolved
                recovering.resolvedAt = now
            }
            if recovering != alert {
                recovering.updatedAt = now
                changes.save.append(recovering)
            }
        }
        // By the keys' text, each written once: comparing keys writes both texts, which sorting ten
        // thousand alerts (a silent fleet) did a quarter of a million times.
        changes.save = changes.save.map { ($0.key.text, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        changes.delete.sort()
        return changes
    }
}
