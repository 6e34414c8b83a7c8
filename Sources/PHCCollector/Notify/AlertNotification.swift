#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// One message for one receiver, as the outbox keeps it: written in the transaction that
/// changed the alerts it speaks of, sent after the commit, built into the receiver's own format
/// (Discord, Slack, Alertmanager's webhook or API) only when it is sent.
struct AlertNotification: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        /// A route's group of alerts (Discord, Slack, webhook).
        case group
        /// Every alert for an Alertmanager, each pass.
        case alertmanager
        /// The Watchdog.
        case heartbeat
        /// `phc-collector notify test`.
        case test
    }

    /// Stable across retries and restarts: the `X-PHC-Notification-Id` header, so a receiver can drop
    /// a duplicate (the one case where a notification may arrive twice: a crash between the
    /// receiver's answer and the delivered mark).
    var id: String
    var receiver: String
    var kind: Kind
    /// Alertmanager's form, `{}:{alertname="CheckFailing", device="armitage"}`.
    var groupKey: String
    var groupLabels: [String: String]
    var alerts: [AlertNotice]
    /// Unix seconds.
    var createdAt: Int64

    /// Firing while any of its alerts fires.
    var status: AlertNotice.Status { alerts.contains { $0.status == .firing } ? .firing : .resolved }

    /// 32 random hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Digest.hex((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// `{}:{a="1", b="2"}` for group labels `a`, `b`.
    static func groupKey(route: Int, labels: [String: String]) -> String {
        let inner = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ")
        return "{}/\(route):{\(inner)}"
    }
}
