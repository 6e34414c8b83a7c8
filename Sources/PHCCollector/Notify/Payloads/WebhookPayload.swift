#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// Alertmanager's webhook JSON, version 4: what existing bridges (the fleet's alertmanager-discord
/// sidecar, prom2teams, prometheus-msteams) take unchanged. Pure.
enum WebhookPayload {
    struct Message: Codable, Equatable {
        var version: String
        var groupKey: String
        var truncatedAlerts: Int
        var status: String
        var receiver: String
        var groupLabels: [String: String]
        var commonLabels: [String: String]
        var commonAnnotations: [String: String]
        var externalURL: String
        var alerts: [Alert]
    }

    struct Alert: Codable, Equatable {
        var status: String
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var generatorURL: String
        var fingerprint: String
    }

    /// Alertmanager writes the zero time for an alert that has not ended.
    static let zeroTime = "0001-01-01T00:00:00Z"

    static func message(_ notification: AlertNotification, externalURL: String = "") -> Message {
        let alerts = notification.alerts.sorted(by: AlertOrder.worstFirst)
        func common(_ maps: [[String: String]]) -> [String: String] {
            guard var shared = maps.first else { return [:] }
            for map in maps.dropFirst() { shared = shared.filter { map[$0.key] == $0.value } }
            return shared
        }
        return Message(
            version: "4", groupKey: notification.groupKey, truncatedAlerts: 0, status: notification.status.rawValue,
            receiver: notification.receiver, groupLabels: notification.groupLabels,
            commonLabels: common(alerts.map(\.labels)), commonAnnotations: common(alerts.map(\.annotations)),
            externalURL: externalURL,
            alerts: alerts.map { alert in
                Alert(
                    status: alert.status.rawValue, labels: alert.labels, annotations: alert.annotations,
                    startsAt: Timestamp(secondsSinceEpoch: alert.startsAt).description,
                    endsAt: alert.endsAt.map { Timestamp(secondsSinceEpoch: $0).description } ?? zeroTime,
                    generatorURL: "", fingerprint: alert.fingerprint)
            })
    }

    static func body(_ notification: AlertNotification) -> Data { JSONBody.encode(message(notification)) }

    /// `X-PHC-Timestamp` and `X-PHC-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
    static func signatureHeaders(body: Data, secret: [UInt8], at time: Int64) -> [(name: String, value: String)] {
        let message = Array("\(time).".utf8) + Array(body)
        return [
            ("X-PHC-Timestamp", String(time)),
            ("X-PHC-Signature", "sha256=" + Digest.hmacSHA256Hex(key: secret, message: message)),
        ]
    }
}

/// Alertmanager's `POST /api/v2/alerts` body: every alert on its own, firing ones valid for a few
/// of the collector's intervals (so they expire if the collector stops), resolved ones ending now.
enum AlertmanagerPayload {
    struct Alert: Codable, Equatable {
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var generatorURL: String
    }

    static func alerts(_ notification: AlertNotification, now: Int64, interval: Duration) -> [Alert] {
        let validity = max(60, 3 * interval.wholeSeconds)
        return notification.alerts.map { alert in
            Alert(
                labels: alert.labels, annotations: alert.annotations,
                startsAt: Timestamp(secondsSinceEpoch: alert.startsAt).description,
                endsAt: Timestamp(secondsSinceEpoch: alert.endsAt ?? now.saturatingAdd(validity)).description,
                generatorURL: "")
        }
    }

    static func body(_ notification: AlertNotification, now: Int64, interval: Duration) -> Data {
        JSONBody.encode(alerts(notification, now: now, interval: interval))
    }
}
