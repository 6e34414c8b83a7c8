internal import PHCCore

/// Where an alert is in its life: Prometheus's and Alertmanager's states.
public enum AlertState: String, Sendable, Codable, Comparable {
    /// The condition holds, not yet long enough to page.
    case pending
    case firing
    /// Was firing; the condition is gone.
    case resolved

    public static func < (lhs: AlertState, rhs: AlertState) -> Bool {
        let order: [AlertState] = [.firing, .pending, .resolved]
        return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
    }
}

/// What identifies one alert: its name, device and (for `CheckFailing`) check.
struct AlertKey: Hashable, Comparable, Sendable {
    var name: AlertName
    var device: String
    var checkID: String?

    /// The stored form, `name|device|check`.
    var text: String { [name.rawValue, device, checkID ?? ""].joined(separator: "|") }

    static func < (lhs: AlertKey, rhs: AlertKey) -> Bool { lhs.text < rhs.text }
}

/// A row of `alerts`.
struct AlertRecord: Equatable, Sendable {
    var key: AlertKey
    var severity: CheckStatus
    var state: AlertState
    var count: Int
    var startedAt: Int64
    var firedAt: Int64?
    var resolvedAt: Int64?
    var summary: String
    var updatedAt: Int64
    /// The last manifest sequence counted (alerts counted in manifests).
    var evidence: Int64?
    /// Good manifests (or passes) in a row since the condition went away, while still firing.
    var recoveries = 0

    var name: AlertName { key.name }
    var device: String { key.device }
    var checkID: String? { key.checkID }
}
